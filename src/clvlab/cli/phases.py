"""``clvlab phases``: customers per lifecycle phase at a date, and what to do about each.

Prints the number of customers per phase (:func:`clvlab.phases.assign_phases`); ``--out``
writes one row per customer with the phase and the measures that a framework of the phase
catalog (``data/lifecycle_phases.yaml``, :func:`clvlab.lifecycle.recommended_measures`)
recommends for it.
"""

from __future__ import annotations

import argparse
import json
import sys

from clvlab import lifecycle, phases
from clvlab.cli import checks
from clvlab.cli._common import add_log_arguments, load_log
from clvlab.cli.output import write_files

DEFAULT_FRAMEWORK = "clv_phases"
"""The framework whose measures ``--out`` recommends unless ``--framework`` says otherwise
(the only one with measures for all five phases)."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``phases``."""
    frameworks = [f.id for f in lifecycle.load_catalog().frameworks]
    parser = subparsers.add_parser(
        "phases",
        help="count customers per lifecycle phase at a date; --out lists each customer",
        description="Validate a transaction log and put every customer who bought on or "
        "before --as-of into one phase (new, growing, retained, at_risk, lapsed); print the "
        "number of customers per phase. Thresholds are derived from the inter-purchase "
        "times up to --as-of unless given. --out writes one row per customer with the "
        "phase and the measures recommended for it.",
    )
    add_log_arguments(parser)
    parser.add_argument(
        "--as-of",
        required=True,
        type=checks.calendar_date,
        metavar="DATE",
        help="date of the assignment (YYYY-MM-DD or DD.MM.YYYY)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print only a JSON object phase -> count"
    )
    parser.add_argument(
        "--out",
        type=checks.output_file,
        default=None,
        metavar="FILE.csv",
        help="CSV file with one row per customer: customer_id, phase, phase_name, "
        "recommended_measures, then the purchase history the phase rests on",
    )
    parser.add_argument(
        "--framework",
        choices=frameworks,
        default=DEFAULT_FRAMEWORK,
        metavar="ID",
        help=f"framework whose measures --out recommends: {', '.join(frameworks)} "
        f"(default {DEFAULT_FRAMEWORK})",
    )
    parser.add_argument(
        "--language",
        choices=["en", "de"],
        default="en",
        help="language of phase names and measures in --out (default en)",
    )
    for option, meaning, default in (
        ("--onboarding-days", "onboarding window", "median inter-purchase time"),
        ("--at-risk-days", "population at-risk threshold", "75%% quantile"),
        ("--lapsed-days", "population lapsed threshold", "95%% quantile"),
    ):
        parser.add_argument(
            option,
            type=checks.positive_float,
            default=None,
            metavar="DAYS",
            help=f"{meaning} in days (default: {default})",
        )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Assign phases; write the per-customer table; print the counts."""
    checks.distinct_files([args.file], {"--out": args.out})
    log, _ = load_log(args, report_to=sys.stderr if args.json else sys.stdout)
    rules = phases.PhaseRules(
        onboarding_days=args.onboarding_days,
        at_risk_days=args.at_risk_days,
        lapsed_days=args.lapsed_days,
    )
    table = phases.assign_phases(log, args.as_of, rules=rules)
    if args.out:
        per_customer = lifecycle.with_measures(table, args.framework, args.language)
        write_files({args.out: lambda path: per_customer.to_csv(path, index=False)})
        print(f"wrote {len(per_customer):,} customers to {args.out}", file=sys.stderr)
    counts = {p: int(n) for p, n in table["phase"].value_counts().reindex(phases.PHASES).items()}
    if args.json:
        print(json.dumps(counts))
        return 0
    attrs = table.attrs
    used = attrs["rules"]
    print(
        f"Phases at {attrs['as_of']} ({len(table):,} customers who bought on or before it; "
        f"{attrs['customers_not_yet_acquired']:,} first bought later and are left out)"
    )
    width = max(map(len, counts))
    for phase, n in counts.items():
        print(f"  {phase:<{width}}  {n:>8,}  {n / len(table):6.1%}")
    print(
        f"Thresholds (days): onboarding {used['onboarding_days']:g}, at risk after "
        f"{used['at_risk_days']:g}, lapsed after {used['lapsed_days']:g}"
    )
    return 0
