"""The ``clvlab`` command line.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which
registers the sub-command, sets ``func`` on it to a callable taking the parsed arguments
and returning an exit status, and returns the sub-command's parser.

Messages are one line each on standard error: ``clvlab CMD: error: ...`` ends a command
with exit status 2 (bad arguments, bad input), ``clvlab CMD: warning: ...`` reports a
library warning without the source location. Where a message names a keyword of the
library (``calibration_end``, ``lapsed_days``, ...) the matching option is added.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections.abc import Mapping, Sequence

from clvlab.cli import clv, compare, fit, phases, report, summarize, validate
from clvlab.errors import ClvlabError

SUBCOMMANDS = (validate, summarize, phases, fit, clv, compare, report)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (exit status 2), not the usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command registered."""
    parser = _Parser(
        prog="clvlab",
        description="Customer lifecycle and customer lifetime value lab: validate a "
        "transaction log, summarise it per customer, find lifecycle phases, fit "
        "buy-till-you-die models and compare them on a holdout period, report on a whole "
        "log.",
        epilog="Run 'clvlab COMMAND --help' for the options of a command. Dates are written "
        "YYYY-MM-DD or DD.MM.YYYY. Bad input ends with one line on standard error and exit "
        "status 2.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        sub = module.add_parser(subparsers)
        options = {a.dest: a.option_strings[-1] for a in sub._actions if a.option_strings}
        sub.set_defaults(parser=sub, options=options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status (2 for bad input)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse: --help (0) or a bad argument (2)
        return stop.code if isinstance(stop.code, int) else 2
    prefix = f"clvlab {args.command}"
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warnings(prefix, args.options)
        try:
            return int(args.func(args) or 0)
        except ClvlabError as err:
            print(f"{prefix}: error: {_with_options(str(err), args.options)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{prefix}: interrupted; no output was written", file=sys.stderr)
            return 130


def _one_line_warnings(prefix: str, options: Mapping[str, str]):
    """A :func:`warnings.showwarning` that prints ``prefix: warning: message`` in one line."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = _with_options(" ".join(str(message).split()), options)
        print(f"{prefix}: warning: {text}", file=sys.stderr if file is None else file)

    return show


def _with_options(message: str, options: Mapping[str, str]) -> str:
    """Add the options that match the library keywords a message names."""
    named = [
        option
        for dest, option in options.items()
        if "_" in dest and re.search(rf"\b{re.escape(dest)}\b", message)
    ]
    return f"{message} (on the command line: {', '.join(named)})" if named else message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
