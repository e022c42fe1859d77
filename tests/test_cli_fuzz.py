"""Every command, fed random corruptions of valid arguments, either succeeds with its whole
output or stops with exit status 2 and one error line; never a traceback, never a partial
or stray file.

The corruptions come from a seeded generator (reproducible; a failure prints the
arguments): values replaced by awkward ones (empty, NaN, negative, ambiguous dates,
missing folders, the input file itself, ...), tokens dropped, repeated or swapped, unknown
options added. Fits are by maximum likelihood on 300 customers, so a case takes a fraction
of a second.
"""

from __future__ import annotations

import json
import random
import shutil

import pandas as pd
import pytest

from clvlab.cli import build_parser
from clvlab.cli.report import FILES as REPORT_FILES

CASES_PER_COMMAND = 80
SEED = 9

COMMANDS = {
    "validate": ["--out", "{out}/clean.csv", "--report", "{out}/report.csv"],
    "summarize": ["--calibration-end", "1997-09-30", "--observation-end", "30.06.1998",
                  "--time-unit", "D", "--out", "{out}/rfm.csv"],
    "phases": ["--as-of", "1997-12-31", "--out", "{out}/phases.csv", "--lapsed-days", "200"],
    "fit": ["--calibration-end", "1997-09-30", "--model", "pareto-nbd", "--out",
            "{out}/predictions.csv", "--save", "{out}/model.nc", "--horizon", "39", "--seed",
            "1", "--draws", "10", "--tune", "0", "--chains", "1"],
    "fit:bg-bb": ["--calibration-end", "1997-09-30", "--model", "bg-bb", "--time-unit", "W",
                  "--out", "{out}/predictions.csv", "--save", "{out}/model.nc", "--horizon",
                  "4", "--json"],
    "fit:gamma-gamma": ["--calibration-end", "1997-09-30", "--model", "gamma-gamma", "--out",
                        "{out}/spend.csv", "--json", "--seed", "1"],
    "clv": ["--calibration-end", "1997-09-30", "--model", "bg-nbd", "--out", "{out}/clv.csv",
            "--horizon", "39", "--discount-rate", "0.1", "--margin", "0.3", "--seed", "1",
            "--draws", "10", "--tune", "0", "--chains", "1"],
    "compare": ["--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30", "--models",
                "bg-nbd,mbg-nbd", "--out", "{out}/table.csv", "--seed", "1", "--draws", "10",
                "--tune", "0", "--chains", "1"],
    "report": ["--calibration-end", "1997-09-30", "--model", "bg-nbd", "--method", "mle",
               "--language", "de", "--horizon", "39", "--discount-rate", "0.1", "--margin",
               "0.3", "--out", "{out}/report"],
}  # fmt: skip
#: Commands whose notebook run is replaced by the ``fake_template`` fixture (the arguments
#: and the checks before it are what is fuzzed; tests/test_cli_report.py runs it for real).
FAKE_RUN = {"report"}
#: Cases are named by their command, or ``command:variant`` (other models of ``fit``).
#: Commands whose result is a file only (their summary goes to standard error).
FILE_ONLY = {"clv"}
OUTPUT_OPTIONS = ("out", "save", "report")

AWKWARD = [
    "", " ", "0", "-1", "1", "2.5", "nan", "inf", "-inf", "1e309", "9" * 400, "abc", "ü€",
    "01/02/2024", "31.02.2024", "01.09.97", "30.09.1997", "1997-01-01", "1997-01-02",
    "1996-12-31", "1998-06-30", "2100-01-01", "9999-12-31", "%Q", "%d.%m", "%d.%m.%Y",
    "%Y-%m-%d", "mixed", "ISO8601", "D", "W", "Kunde", "Datum", "Umsatz", "mle",
    "{out}", "{out}/missing/x.csv", "{out}/x.csv", "{csv}", "--json", "--bogus",
]  # fmt: skip


def corrupt(argv: list[str], options: list[str], rng: random.Random) -> list[str]:
    """One or two random corruptions of ``argv`` (the command name stays first): mostly
    an option's value replaced, else an option dropped or added, or a token dropped,
    repeated or swapped."""
    argv = list(argv)
    for _ in range(rng.randint(1, 2)):
        values = [i for i in range(2, len(argv)) if argv[i - 1].startswith("--")]
        kind = rng.choices(["value", "drop", "add", "token"], weights=[5, 2, 2, 2])[0]
        if kind == "value" and values:
            argv[rng.choice(values)] = rng.choice(AWKWARD)
        elif kind == "drop" and values:
            i = rng.choice(values)
            del argv[i - 1 : i + 1]
        elif kind == "token" and len(argv) > 2:
            i, j = rng.randrange(1, len(argv)), rng.randrange(1, len(argv))
            action = rng.choice(["drop", "repeat", "swap"])
            if action == "drop":
                del argv[i]
            elif action == "repeat":
                argv.insert(i, argv[i])
            else:
                argv[i], argv[j] = argv[j], argv[i]
        else:
            i = rng.randrange(2, len(argv) + 1)
            argv[i:i] = [rng.choice(options), rng.choice(AWKWARD)]
    return argv


def check_complete(argv: list[str], run) -> None:
    """Exit 0: stdout holds the result and every file asked for is there and readable."""
    args = build_parser().parse_args(argv)
    assert run.out.strip() or args.command in FILE_ONLY
    if getattr(args, "json", False):
        json.loads(run.out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    for name in OUTPUT_OPTIONS:
        path = getattr(args, name, None)
        if path is None:
            continue
        files = [path / f for f in REPORT_FILES] if args.command == "report" else [path]
        for file in files:
            assert file.is_file() and file.stat().st_size > 0, name
            if file.suffix == ".csv":
                assert len(pd.read_csv(file)) > 0, name


@pytest.mark.slow
@pytest.mark.parametrize("case_name", list(COMMANDS))
def test_random_argument_corruptions(
    case_name, small_german_csv, german_args, tmp_path, cli, monkeypatch, request
):
    if case_name in FAKE_RUN:
        request.getfixturevalue("fake_template")
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)  # outputs named by a relative path land here too
    rng = random.Random(f"{SEED}-{case_name}")
    command = case_name.split(":")[0]
    base = german_args(command, small_german_csv, *COMMANDS[case_name])
    subparser = build_parser()._subparsers._group_actions[0].choices[command]
    options = sorted(a.option_strings[-1] for a in subparser._actions if a.option_strings)
    outcomes = {0: 0, 2: 0}
    for case in range(CASES_PER_COMMAND):
        argv = base if case == 0 else corrupt(base, options, rng)
        argv = [a.format(out=out, csv=small_german_csv) for a in argv]
        for path in out.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        context = f"case {case}: clvlab {' '.join(map(repr, argv))}"
        try:
            run = cli(*argv)
        except Exception as err:  # the point: no exception escapes
            pytest.fail(f"{context} raised {type(err).__name__}: {err}")
        assert run.code in (0, 2), f"{context} exited {run.code}: {run.err}"
        assert "Traceback" not in run.err, context
        assert not [p for p in out.iterdir() if ".tmp." in p.name], context  # no temp files
        if run.code == 2:
            lines = run.err.strip().splitlines()
            errors = [line for line in lines if ": error: " in line]
            assert len(errors) == 1 and errors[0] == lines[-1], f"{context}\n{run.err}"
            assert lines[-1].startswith("clvlab"), context
            assert list(out.iterdir()) == [], f"{context} left {list(out.iterdir())}"
        elif "--help" not in argv and "-h" not in argv:
            check_complete(argv, run)
        outcomes[run.code] += 1
    # both outcomes occur, so the corruptions neither always break nor never matter
    assert outcomes[0] >= 5 and outcomes[2] >= CASES_PER_COMMAND / 3, outcomes
