"""Tests for ``clvlab summarize``."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def summarize_args(german_args):
    def arguments(path, out, *extra, calibration_end="1997-09-30"):
        return german_args("summarize", path, "--date-format", "%d.%m.%Y",
                           "--calibration-end", calibration_end, "--out", out, *extra)  # fmt: skip

    return arguments


def test_summarize_writes_the_rfm_table(german_csv, tmp_path, cli, summarize_args, cdnow_rfm):
    out = tmp_path / "rfm.csv"
    run = cli(*summarize_args(german_csv, out, "--observation-end", "1998-06-30"))
    assert run.code == 0
    assert "Validation report: 6,919 rows in, 6,919 kept, 0 removed" in run.out
    assert "223 same-day purchases merged" in run.out
    assert "wrote 2,357 customers" in run.out
    table = pd.read_csv(out)
    assert list(table.columns) == list(cdnow_rfm.columns)
    assert table["frequency"].sum() == 2457 and table["frequency_holdout"].sum() == 1882
    assert [p.name for p in tmp_path.iterdir()] == ["rfm.csv"]  # no temporary files left


def test_days(german_csv, tmp_path, cli, summarize_args):
    out = tmp_path / "rfm.csv"
    assert cli(*summarize_args(german_csv, out, "--time-unit", "D")).code == 0
    assert pd.read_csv(out)["T"].max() == 272


@pytest.mark.parametrize(
    ("written", "read_as"),
    [("30.09.1997", "1997-09-30"), ("01.09.1997", "1997-09-01"), ("1997-09-01", "1997-09-01")],
)
def test_dotted_dates_are_day_first(german_csv, tmp_path, cli, summarize_args, written, read_as):
    # 01.09.1997 was read as 9 January
    run = cli(*summarize_args(german_csv, tmp_path / "rfm.csv", calibration_end=written))
    assert run.code == 0
    assert f"first bought after {read_as} and are not in the table" in run.out


def test_calibration_end_after_the_log_is_warned_about(german_csv, tmp_path, cli, summarize_args):
    run = cli(*summarize_args(german_csv, tmp_path / "rfm.csv", calibration_end="31.12.1998"))
    assert run.code == 0
    assert run.err.startswith(
        "clvlab summarize: warning: calibration_end 1998-12-31 is 184 days after the last "
        "purchase in the log (1998-06-30)"
    )
    assert run.err.strip().endswith("(on the command line: --calibration-end)")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ["--customer-col", "Kundennummer"],
            "clvlab summarize: error: column 'Kundennummer' (the customer column) not found",
        ),
        (["--date-format", "%Y/%m/%d"], "clvlab summarize: error: no valid rows left"),
        ("missing-file", "clvlab summarize: error: argument FILE: cannot read '{tmp}/missing"),
        (["--observation-end", "1997-01-31"], "clvlab summarize: error: observation_end"),
    ],
)
def test_bad_input_exits_with_one_line_and_keeps_the_old_output(
    german_csv, tmp_path, cli, summarize_args, change, message
):
    out = tmp_path / "rfm.csv"
    out.write_text("earlier\n")
    argv = summarize_args(german_csv, out)
    if change == "missing-file":
        argv[1] = str(tmp_path / "missing.csv")
    else:
        argv += change
    run = cli(*argv)
    assert run.code == 2
    error = run.err.strip().splitlines()[-1]
    assert error.startswith(message.format(tmp=tmp_path))
    assert "Traceback" not in run.err and run.err.count("error:") == 1
    assert out.read_text() == "earlier\n"


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--calibration-end", "", "argument --calibration-end: a date is required"),
        ("--calibration-end", "01/02/1997", "'01/02/1997' is ambiguous (day or month first?)"),
        ("--observation-end", " ", "argument --observation-end: a date is required"),
        ("--out", "{tmp}/missing/rfm.csv", "argument --out: folder '{tmp}/missing' does not"),
        ("--out", "{tmp}", "argument --out: '{tmp}' is a folder"),
    ],
)
def test_bad_arguments_are_one_line(
    german_csv, tmp_path, cli, summarize_args, flag, value, message
):
    argv = summarize_args(german_csv, tmp_path / "rfm.csv", flag, value.format(tmp=tmp_path))
    line = cli(*argv).error_line()
    assert line.startswith("clvlab summarize: error: ")
    assert message.format(tmp=tmp_path) in line
    assert list(tmp_path.iterdir()) == []
