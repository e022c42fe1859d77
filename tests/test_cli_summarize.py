import pandas as pd
import pytest

from clvlab.cli import main


def args(path, out, *extra):
    return [
        "summarize",
        str(path),
        "--customer-col",
        "Kunde",
        "--date-col",
        "Datum",
        "--amount-col",
        "Umsatz",
        "--date-format",
        "%d.%m.%Y",
        "--calibration-end",
        "1997-09-30",
        "--out",
        str(out),
        *extra,
    ]


def test_summarize_writes_the_rfm_table(german_csv, tmp_path, capsys, cdnow_rfm):
    out = tmp_path / "rfm.csv"
    assert main(args(german_csv, out, "--observation-end", "1998-06-30")) == 0
    printed = capsys.readouterr().out
    assert "Validation report: 6,919 rows in, 6,919 kept, 0 removed" in printed
    assert "223 same-day purchases merged" in printed
    assert "wrote 2,357 customers" in printed
    table = pd.read_csv(out)
    assert list(table.columns) == list(cdnow_rfm.columns)
    assert table["frequency"].sum() == 2457 and table["frequency_holdout"].sum() == 1882


def test_days(german_csv, tmp_path):
    out = tmp_path / "rfm.csv"
    assert main(args(german_csv, out, "--time-unit", "D")) == 0
    assert pd.read_csv(out)["T"].max() == 272


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ["--customer-col", "Kundennummer"],
            "clvlab summarize: error: column 'Kundennummer' (the customer column) not found",
        ),
        (["--date-format", "%Y/%m/%d"], "clvlab summarize: error: no valid rows left"),
        ("missing-file", "clvlab summarize: error: cannot read"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(german_csv, tmp_path, capsys, change, message):
    argv = args(german_csv, tmp_path / "rfm.csv")
    if change == "missing-file":
        argv[1] = str(tmp_path / "missing.csv")
    else:
        argv += change
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message)
    assert len(err.splitlines()) == 1
