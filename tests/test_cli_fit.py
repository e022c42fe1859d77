"""Tests for ``clvlab fit``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clvlab.cli import fitting
from clvlab.models import CLVModel

FULL_BG = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}


@pytest.fixture
def fit_args(german_args):
    def arguments(path, *extra):
        return german_args("fit", path, "--calibration-end", "1997-09-30", *extra)

    return arguments


def strict_json(text: str):
    """Parse JSON as the standard has it: NaN and Infinity are not JSON."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))


@pytest.mark.parametrize(
    ("model", "r", "loglik"),
    [("bg-nbd", 0.2426, -9582.43), ("mbg-nbd", 0.525, -9582.14), ("pareto-nbd", 0.553, -9594.98)],
)
def test_mle_json_for_every_model(german_csv, cli, fit_args, model, r, loglik):
    run = cli(*fit_args(german_csv, "--model", model, "--json"))
    assert run.code == 0
    result = strict_json(run.out)
    assert result["model"] == model and result["method"] == "mle"
    assert result["n_customers"] == 2357
    assert result["params"]["r"] == pytest.approx(r, abs=6e-4)
    assert result["loglik"] == pytest.approx(loglik, abs=0.01)
    assert set(result["params_se"]) == set(result["params"])
    assert "Validation report" in run.err and "fitting" in run.err  # progress on stderr


def test_gamma_gamma_fits_the_repeat_buyers_spend(german_csv, cli, fit_args, tmp_path):
    out = tmp_path / "spend.csv"
    run = cli(*fit_args(german_csv, "--model", "gamma-gamma", "--json", "--out", out))
    assert run.code == 0, run.err
    result = strict_json(run.out)
    # Fader, Hardie & Lee (2005b): 946 repeat buyers, p 6.25, q 3.74, gamma 15.44
    assert result["n_customers"] == 946 and result["n_without_repeat_purchases"] == 1411
    rounded = {k: round(v, 2) for k, v in result["params"].items()}
    assert rounded == {"p": 6.25, "q": 3.74, "gamma": 15.44}
    assert round(result["loglik"], 2) == -4055.92
    assert set(result["params_se"]) == {"p", "q", "gamma"}
    assert "1,411 customers without repeat purchases are left out" in run.err
    spend = pd.read_csv(out)
    assert list(spend.columns) == ["customer_id", "expected_spend"] and len(spend) == 2357
    p, q, gamma = (result["params"][k] for k in ("p", "q", "gamma"))
    population = spend.set_index("customer_id").loc[10, "expected_spend"]  # no repeat purchase
    assert population == pytest.approx(p * gamma / (q - 1), rel=1e-9)


def test_gamma_gamma_without_amounts_or_repeat_buyers_exits_2(
    small_german_csv, cli, fit_args, german_args
):
    no_amount = german_args("fit", small_german_csv, "--calibration-end", "1997-09-30")
    no_amount = [a for a in no_amount if a not in ("--amount-col", "Umsatz")]
    line = cli(*no_amount, "--model", "gamma-gamma").error_line()
    assert line.startswith("clvlab fit: error: --model gamma-gamma fits the purchase values")
    assert "--amount-col" in line
    early = fit_args(small_german_csv, "--model", "gamma-gamma")
    early[early.index("1997-09-30")] = "1997-01-02"
    run = cli(*early)  # after the validation report: one error line
    assert run.code == 2 and "Traceback" not in run.err
    errors = [line for line in run.err.splitlines() if ": error: " in line]
    assert errors == [run.err.strip().splitlines()[-1]]
    assert errors[0].startswith("clvlab fit: error: only 0 of ") and "bought again" in errors[0]


@pytest.mark.parametrize(("unit", "loglik"), [("W", -8776.25), ("D", -14341.17)])
def test_bg_bb_counts_one_opportunity_per_time_unit(
    german_csv, cli, fit_args, tmp_path, unit, loglik
):
    out = tmp_path / "bgbb.csv"
    args = fit_args(german_csv, "--model", "bg-bb", "--time-unit", unit, "--json", "--out", out)
    run = cli(*args)
    assert run.code == 0, run.err
    result = strict_json(run.out)
    assert result["n_customers"] == 2357 and set(result["params"]) == {
        "alpha",
        "beta",
        "gamma",
        "delta",
    }
    assert result["loglik"] == pytest.approx(loglik, abs=0.01)
    if unit == "W":
        assert "150 repeat purchase days fell in an opportunity (W)" in run.err
    predictions = pd.read_csv(out)
    assert list(predictions.columns) == ["customer_id", "expected_purchases", "probability_alive"]
    assert predictions["probability_alive"].between(0, 1).all()
    # the horizon is a whole number of opportunities
    line = cli(*args, "--horizon", "2.5").error_line()
    assert "not a whole number of opportunities" in line


def test_bg_nbd_mle_reproduces_the_full_precision_estimates(german_csv, cli, fit_args):
    result = strict_json(cli(*fit_args(german_csv, "--json")).out)
    for name, value in FULL_BG.items():
        assert result["params"][name] == pytest.approx(value, rel=2e-5)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("map", []),
        ("advi", ["--draws", "100"]),
        ("nuts", ["--draws", "100", "--tune", "100", "--chains", "2"]),
    ],
)
@pytest.mark.slow
def test_bayesian_methods_report_posterior_summaries(
    german_csv, cli, fit_args, monkeypatch, method, extra
):
    monkeypatch.setattr(fitting, "HEARTBEAT_SECONDS", 0.5)
    run = cli(*fit_args(german_csv, "--method", method, "--seed", "1", "--json", *extra))
    assert run.code == 0, run.err
    result = strict_json(run.out)  # progress bars go to stderr, never into the JSON
    assert result["method"] == method
    for name, value in FULL_BG.items():
        assert result["params"][name] == pytest.approx(value, rel=0.5), name
    if method == "map":
        assert result["loglik"] == pytest.approx(-9582.43, abs=0.1)
        assert "params_sd" not in result
    else:
        assert set(result["params_sd"]) == set(FULL_BG)
        assert "loglik" not in result
    if method == "nuts":
        # the sampler's progress bar, a sign of life while it runs (stderr is no terminal
        # here) and the convergence warning, one line each
        assert "Sampling" in run.err and "100%" in run.err
        assert "still fitting (" in run.err
        warnings = [line for line in run.err.splitlines() if "warning:" in line]
        assert all(w.startswith("clvlab fit: warning: ") for w in warnings)
        assert ".py:" not in run.err  # no source locations


def test_out_writes_predictions_and_save_writes_the_model(german_csv, tmp_path, cli, fit_args):
    out, saved = tmp_path / "predictions.csv", tmp_path / "model.nc"
    run = cli(*fit_args(german_csv, "--out", out, "--save", saved))
    assert run.code == 0
    assert "bg-nbd fitted by mle to 2,357 customers" in run.out
    assert "log-likelihood -9582.43" in run.out
    predictions = pd.read_csv(out)
    assert list(predictions.columns) == ["customer_id", "expected_purchases", "probability_alive"]
    assert len(predictions) == 2357
    # Customer 1 (x = 2, t_x = 30.43, T = 38.86) expects 1.226 purchases in 39 weeks (FHL).
    first = predictions.set_index("customer_id").loc[1]
    assert first["expected_purchases"] == pytest.approx(1.2222, abs=1e-3)  # 38.86 weeks
    assert CLVModel.load(saved).params["r"] == pytest.approx(FULL_BG["r"], rel=2e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.nc", "predictions.csv"]


def test_json_writes_null_for_missing_standard_errors(small_german_csv, cli, fit_args):
    # Calibration end a week in: a degenerate fit whose standard errors are NaN
    # (printed as NaN before, which is not JSON).
    args = fit_args(small_german_csv, "--json")
    args[args.index("1997-09-30")] = "1997-01-09"
    run = cli(*args)
    assert run.code == 0, run.err
    result = strict_json(run.out)
    assert None in result["params_se"].values()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--draws", "0"], "argument --draws: must be at least 1, got 0"),
        (["--chains", "0"], "argument --chains: must be at least 1"),
        (["--draws", "-5"], "argument --draws: must be at least 1"),
        (["--method", "advi", "--draws", "0"], "argument --draws: must be at least 1"),
        (["--tune", "-1"], "argument --tune: must not be negative"),
        (["--seed", "-1"], "argument --seed: must lie between 0 and 4294967295"),
        (["--draws", "ten"], "argument --draws: 'ten' is not a whole number"),
        (["--horizon", "-3"], "argument --horizon: must be a positive finite number"),
        (["--horizon", "nan"], "argument --horizon: must be a positive finite number"),
        (["--horizon", "inf"], "argument --horizon: must be a positive finite number"),
        (["--date-format", "%Q.%m.%Y"], "argument --date-format: '%Q.%m.%Y' is not a date"),
        (["--date-format", "dd.mm.yyyy"], "argument --date-format: 'dd.mm.yyyy' does not hold"),
        (["--date-format", "mixed"], "argument --date-format: 'mixed' would read each row"),
        (["--model", "sbg"], "argument --model: invalid choice: 'sbg'"),
        (["--out", "{tmp}/missing/predictions.csv"], "argument --out: folder '{tmp}/missing'"),
        (["--out", "{tmp}"], "argument --out: '{tmp}' is a folder"),
        (["--save", "{tmp}/missing/model.nc"], "argument --save: folder '{tmp}/missing'"),
        (["--out", "{tmp}/same.csv", "--save", "{tmp}/same.csv"], "--save '{tmp}/same.csv' is"),
        (["--out", "{csv}"], "--out '{csv}' is the same file as FILE"),
    ],
)
def test_bad_arguments_stop_before_any_work_with_one_line(
    small_german_csv, tmp_path, cli, fit_args, extra, message
):
    def fill(text):
        return text.format(tmp=tmp_path, csv=small_german_csv)

    before = small_german_csv.read_bytes()
    line = cli(*fit_args(small_german_csv, *map(fill, extra))).error_line()
    assert line.startswith(f"clvlab fit: error: {fill(message)}")
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert small_german_csv.read_bytes() == before


def test_a_failed_save_leaves_the_earlier_predictions_alone(
    small_german_csv, tmp_path, cli, fit_args
):
    out = tmp_path / "predictions.csv"
    out.write_text("earlier results\n")
    run = cli(*fit_args(small_german_csv, "--out", out, "--save", tmp_path / "no" / "m.nc"))
    assert run.error_line().startswith("clvlab fit: error: argument --save: folder")
    assert out.read_text() == "earlier results\n"


def test_missing_column_exits_with_one_line(german_csv, cli, fit_args):
    args = fit_args(german_csv)
    args[args.index("Datum")] = "Date"
    run = cli(*args)
    assert run.code == 2
    assert run.err.strip().splitlines()[-1].startswith("clvlab fit: error: column 'Date'")
