"""Tests for ``clvlab.cli``: help, one-line errors and warnings, exit statuses."""

from __future__ import annotations

import warnings

import pytest

from clvlab.cli import SUBCOMMANDS


def test_help_lists_every_command(cli):
    run = cli("--help")
    assert run.code == 0
    for command in ("validate", "summarize", "phases", "fit"):
        assert command in run.out
    assert "YYYY-MM-DD or DD.MM.YYYY" in run.out


@pytest.mark.parametrize("command", ["validate", "summarize", "phases", "fit"])
def test_every_command_has_help(cli, command):
    run = cli(command, "--help")
    assert run.code == 0 and f"usage: clvlab {command}" in run.out
    assert "--customer-col" in run.out and "--date-format" in run.out


def test_argument_errors_are_one_line_not_the_usage(cli):
    line = cli("fit").error_line()
    assert line.startswith("clvlab fit: error: the following arguments are required: FILE")
    assert line.endswith("(see clvlab fit --help)")
    assert cli("plot").error_line().startswith("clvlab: error: argument COMMAND: invalid choice")
    assert cli().error_line().startswith("clvlab: error: the following arguments are required")


def test_library_warnings_are_one_line_without_source_and_name_the_option(
    monkeypatch, cli, german_csv, german_args, tmp_path
):
    # a multi-line warning from anywhere in the library
    module = next(m for m in SUBCOMMANDS if m.__name__.endswith("summarize"))

    def warn(args):
        warnings.warn("calibration_end is late;\n  consider an earlier one", stacklevel=2)
        return 0

    monkeypatch.setattr(module, "run", warn)
    args = german_args("summarize", german_csv, "--calibration-end", "1997-09-30")
    run = cli(*args, "--out", tmp_path / "x.csv")
    assert run.code == 0
    assert run.err == (
        "clvlab summarize: warning: calibration_end is late; consider an earlier one "
        "(on the command line: --calibration-end)\n"
    )
