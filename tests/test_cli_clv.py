import numpy as np
import pandas as pd
import pytest

from clvlab import rfm
from clvlab.cli import main
from clvlab.models import BetaGeo, GammaGamma


def clv_args(path, out, *extra):
    return [
        "clv",
        str(path),
        "--customer-col",
        "Kunde",
        "--date-col",
        "Datum",
        "--amount-col",
        "Umsatz",
        "--calibration-end",
        "1997-09-30",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def mle_run(german_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("clv") / "clv.csv"
    return out, main(clv_args(german_csv, out, "--margin", "0.3"))


def test_writes_one_row_per_customer_with_intervals(mle_run, capsys):
    out, status = mle_run
    assert status == 0
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "customer_id",
        "expected_purchases",
        "expected_spend",
        "clv",
        "clv_low",
        "clv_high",
        "probability_alive",
    ]
    assert len(table) == 2357 and table["customer_id"].is_unique
    assert (table["clv_low"] <= table["clv"]).all() and (table["clv"] <= table["clv_high"]).all()
    assert table["clv"].notna().all() and (table["clv"] > 0).all()
    # Regression: --method mle gave clv_low == clv == clv_high (the covariance of the
    # estimates was discarded); now the normal approximation gives every customer an interval.
    assert (table["clv_low"] < table["clv_high"]).all()


def test_clv_reconciles_with_discounted_purchases_spend_and_margin(mle_run, cdnow_log):
    out, _ = mle_run
    table = pd.read_csv(out)
    summary = rfm.summarize(cdnow_log, "1997-09-30")
    purchases = BetaGeo().fit(summary, method="mle")
    spend = GammaGamma().fit(summary[summary["frequency"] > 0], method="mle")
    # the definition, on each customer's own history: weekly periods over 52 weeks at
    # 10% a year, each discounted at its end
    total, previous = 0.0, 0.0
    for k in range(1, 53):
        current = purchases.expected_purchases(summary, t=float(k)).to_numpy()[0, 0]
        total += (1.1 ** (-k * 7 / 365.25)) * (current - previous)
        previous = current
    expected_spend = spend.expected_spend(summary).to_numpy()[0, 0]
    np.testing.assert_allclose(table["expected_spend"], expected_spend, rtol=1e-9)
    np.testing.assert_allclose(table["clv"], 0.3 * total * expected_spend, rtol=1e-9)
    np.testing.assert_allclose(table["expected_purchases"], previous, rtol=1e-9)


def test_summary_and_mle_note_go_to_stderr(german_csv, tmp_path, capsys):
    out = tmp_path / "c.csv"
    assert main(clv_args(german_csv, out)) == 0
    err = capsys.readouterr().err
    assert "total value" in err and "top 10%" in err
    assert "94% interval from 1,000 parameter sets of the normal approximation" in err
    # the draws are seeded: --seed 0 is the default
    first = pd.read_csv(out)
    assert main([*clv_args(german_csv, out), "--seed", "0"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), first)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::clvlab.errors.ConvergenceWarning")  # 2 x 100 draws
def test_nuts_gives_proper_intervals(german_csv, tmp_path):
    out = tmp_path / "clv.csv"
    extra = ["--method", "nuts", "--draws", "100", "--tune", "200", "--chains", "2", "--seed", "1"]
    assert main(clv_args(german_csv, out, *extra)) == 0
    table = pd.read_csv(out)
    assert len(table) == 2357
    assert (table["clv_low"] <= table["clv"]).all() and (table["clv"] <= table["clv_high"]).all()
    assert (table["clv_low"] < table["clv_high"]).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a[:6] + a[8:], "--amount-col"),
        (lambda a: [*a, "--discount-rate", "-0.1"], "--discount-rate"),
        (lambda a: [*a, "--horizon", "0"], "--horizon"),
        (lambda a: [*a, "--margin", "nan"], "--margin"),
        (lambda a: [*a[:9], "1990-01-01", *a[10:]], "calibration_end"),
    ],
)
def test_bad_input_exits_2_with_one_line(german_csv, tmp_path, capsys, change, message):
    assert main(change(clv_args(german_csv, tmp_path / "c.csv"))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("clvlab clv: error:") and message in err[-1]
