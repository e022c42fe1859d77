"""``clvlab phases``: the number of customers per lifecycle phase at a date."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from clvlab import phases
from clvlab.cli._common import add_log_arguments, load_log


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``phases``."""
    parser = subparsers.add_parser(
        "phases",
        help="count customers per lifecycle phase at a date",
        description="Validate a transaction log and put every customer who bought on or "
        "before --as-of into one phase (new, growing, retained, at_risk, lapsed); print the "
        "number of customers per phase. Thresholds are derived from the inter-purchase "
        "times up to --as-of unless given.",
    )
    add_log_arguments(parser)
    parser.add_argument("--as-of", required=True, help="date of the assignment (YYYY-MM-DD)")
    parser.add_argument(
        "--json", action="store_true", help="print only a JSON object phase -> count"
    )
    parser.add_argument(
        "--onboarding-days",
        type=float,
        default=None,
        help="onboarding window in days (default: median inter-purchase time)",
    )
    parser.add_argument(
        "--at-risk-days",
        type=float,
        default=None,
        help="population at-risk threshold in days (default: 75%% quantile)",
    )
    parser.add_argument(
        "--lapsed-days",
        type=float,
        default=None,
        help="population lapsed threshold in days (default: 95%% quantile)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Assign phases and print the counts (a table, or JSON with ``--json``)."""
    log, _ = load_log(args, report_to=sys.stderr if args.json else sys.stdout)
    rules = phases.PhaseRules(
        onboarding_days=args.onboarding_days,
        at_risk_days=args.at_risk_days,
        lapsed_days=args.lapsed_days,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        table = phases.assign_phases(log, args.as_of, rules=rules)
    for warning in caught:
        print(
            f"clvlab phases: warning: {warning.message} (on the command line: "
            "--at-risk-days, --lapsed-days)",
            file=sys.stderr,
        )
    counts = {p: int(n) for p, n in table["phase"].value_counts().reindex(phases.PHASES).items()}
    attrs = table.attrs
    if args.json:
        print(json.dumps(counts))
        return 0
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
