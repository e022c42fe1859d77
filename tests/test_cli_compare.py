"""``clvlab compare``: models and baselines judged on the holdout period of a log."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clvlab import evaluate
from clvlab.cli.compare import COLUMNS, PLOTS


@pytest.fixture(scope="module")
def cdnow_run(german_csv, tmp_path_factory):
    """BG/NBD by MLE on the whole CDNOW sample, FHL's split, in weeks (table and CSV)."""
    from clvlab.cli import main

    out = tmp_path_factory.mktemp("compare") / "table.csv"
    argv = ["compare", str(german_csv), "--customer-col", "Kunde", "--date-col", "Datum",
            "--calibration-end", "30.09.1997", "--holdout-end", "1998-06-30",
            "--models", "bg-nbd", "--time-unit", "W", "--out", str(out)]  # fmt: skip
    return main(argv), out


def test_cdnow_bg_nbd_predicted_total_next_to_the_actual_1882(cdnow_run, capsys, cdnow_rfm):
    status, out = cdnow_run
    assert status == 0
    table = pd.read_csv(out)
    assert table["model"].tolist() == ["BG/NBD", "naive: own rate", "naive: average rate"]
    row = table.set_index("model").loc["BG/NBD"]
    # FHL (2005): the conditional expectations over 39 weeks sum to about 1,653 vs 1,882
    assert (round(row["predicted_total"]), row["actual_total"]) == (1653, 1882)
    expected = evaluate.compare_models(
        {"BG/NBD": __import__("clvlab").models.BetaGeo().fit(cdnow_rfm, method="mle")},
        cdnow_rfm,
    )
    assert row["log_score"] == pytest.approx(expected["log_score"].iloc[0], rel=1e-6)


def test_table_shows_predicted_and_actual_side_by_side(german_csv, german_args, cli):
    run = cli(*german_args("compare", german_csv, "--calibration-end", "1997-09-30",
                           "--observation-end", "1998-06-30", "--models", "bg-nbd"))  # fmt: skip
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert "holdout to 1998-06-30 (39 W)" in lines[0]
    header = lines[1].split()
    assert header[:4] == ["method", "predicted_total", "actual_total", "total_error"]
    bg = next(line for line in lines if line.startswith("BG/NBD"))
    assert bg.split()[1:4] == ["mle", "1,653.409", "1,882.000"]
    assert any(line.startswith("naive: own rate") for line in lines)
    assert "fitting bg-nbd by mle" in run.err


def test_json_lists_one_object_per_model(small_german_csv, german_args, cli):
    run = cli(*german_args("compare", small_german_csv, "--calibration-end", "1997-09-30",
                           "--holdout-end", "1998-06-30", "--models", "bg-nbd,mbg-nbd",
                           "--json"))  # fmt: skip
    assert run.code == 0, run.err
    records = json.loads(run.out)  # -inf log scores are null: valid JSON
    assert [r["model"] for r in records] == [
        "BG/NBD",
        "MBG/NBD",
        "naive: own rate",
        "naive: average rate",
    ]
    assert list(records[0]) == COLUMNS
    assert {r["actual_total"] for r in records} == {records[0]["actual_total"]}


def test_plots_are_written(small_german_csv, german_args, cli, tmp_path):
    run = cli(*german_args("compare", small_german_csv, "--calibration-end", "1997-09-30",
                           "--models", "bg-nbd", "--plots", tmp_path))  # fmt: skip
    assert run.code == 0, run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PLOTS)
    assert all((tmp_path / name).read_bytes()[:4] == b"\x89PNG" for name in PLOTS)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--models", "bg-nbd,gamma-gamma"], "unknown model(s) ['gamma-gamma']"),
        (["--models", "bg-nbd,bg-nbd"], "named twice"),
        (["--holdout-end", "1997-09-30"], "holdout period is empty"),
        (["--plots", "/no/such/folder"], "does not exist"),
    ],
)
def test_bad_input_is_one_line(small_german_csv, german_args, cli, extra, message):
    run = cli(*german_args("compare", small_german_csv, "--calibration-end", "1997-09-30",
                           *extra))  # fmt: skip
    line = run.error_line()
    assert line.startswith("clvlab compare: error:") and message in line
