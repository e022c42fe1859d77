"""The ``clvlab`` command line.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which
registers the sub-command and sets ``func`` on it to a callable taking the parsed
arguments and returning an exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from clvlab.cli import clv, fit, phases, summarize
from clvlab.errors import ClvlabError

SUBCOMMANDS = (summarize, phases, fit, clv)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="clvlab", description="Customer lifecycle and customer lifetime value lab."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; bad input ends with a one-line message and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ClvlabError as err:
        print(f"clvlab {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
