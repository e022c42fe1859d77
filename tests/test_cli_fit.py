import json

import pandas as pd
import pytest

from clvlab.cli import main

FULL_BG = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}


def fit_args(path, *extra):
    return [
        "fit",
        str(path),
        "--customer-col",
        "Kunde",
        "--date-col",
        "Datum",
        "--amount-col",
        "Umsatz",
        "--calibration-end",
        "1997-09-30",
        *extra,
    ]


def run_json(capsys, args):
    assert main(args) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.mark.parametrize(
    ("model", "r", "loglik"),
    [("bg-nbd", 0.2426, -9582.43), ("mbg-nbd", 0.525, -9582.14), ("pareto-nbd", 0.553, -9594.98)],
)
def test_mle_json_for_every_model(german_csv, capsys, model, r, loglik):
    result, err = run_json(capsys, fit_args(german_csv, "--model", model, "--json"))
    assert result["model"] == model and result["method"] == "mle"
    assert result["n_customers"] == 2357
    assert result["params"]["r"] == pytest.approx(r, abs=6e-4)
    assert result["loglik"] == pytest.approx(loglik, abs=0.01)
    assert set(result["params_se"]) == set(result["params"])
    assert "Validation report" in err and "fitting" in err  # progress on stderr


def test_bg_nbd_mle_reproduces_the_full_precision_estimates(german_csv, capsys):
    result, _ = run_json(capsys, fit_args(german_csv, "--json"))
    for name, value in FULL_BG.items():
        assert result["params"][name] == pytest.approx(value, rel=2e-5)


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("map", []),
        ("advi", ["--draws", "100"]),
        ("nuts", ["--draws", "100", "--tune", "100", "--chains", "2"]),
    ],
)
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::clvlab.diagnostics.ConvergenceWarning")  # short runs
def test_bayesian_methods_report_posterior_summaries(german_csv, capsys, method, extra):
    args = fit_args(german_csv, "--method", method, "--seed", "1", "--json", *extra)
    result, _ = run_json(capsys, args)
    assert result["method"] == method
    for name, value in FULL_BG.items():
        assert result["params"][name] == pytest.approx(value, rel=0.5), name
    if method == "map":
        assert result["loglik"] == pytest.approx(-9582.43, abs=0.1)
        assert "params_sd" not in result
    else:
        assert set(result["params_sd"]) == set(FULL_BG)
        assert "loglik" not in result


def test_out_writes_predictions_and_save_writes_the_model(german_csv, tmp_path, capsys):
    out, saved = tmp_path / "predictions.csv", tmp_path / "model.nc"
    assert main(fit_args(german_csv, "--out", str(out), "--save", str(saved))) == 0
    printed = capsys.readouterr()
    assert "bg-nbd fitted by mle to 2,357 customers" in printed.out
    assert "log-likelihood -9582.43" in printed.out
    predictions = pd.read_csv(out)
    assert list(predictions.columns) == ["customer_id", "expected_purchases", "probability_alive"]
    assert len(predictions) == 2357
    # Customer 1 (x = 2, t_x = 30.43, T = 38.86) expects 1.226 purchases in 39 weeks (FHL).
    first = predictions.set_index("customer_id").loc[1]
    assert first["expected_purchases"] == pytest.approx(1.2222, abs=1e-3)  # 38.86 weeks
    from clvlab.models import CLVModel

    assert CLVModel.load(saved).params["r"] == pytest.approx(FULL_BG["r"], rel=2e-5)


def test_unknown_model_is_an_argparse_error(german_csv):
    with pytest.raises(SystemExit) as excinfo:
        main(fit_args(german_csv, "--model", "gamma-gamma"))
    assert excinfo.value.code == 2


def test_missing_column_exits_with_one_line(german_csv, capsys):
    args = fit_args(german_csv)
    args[args.index("Datum")] = "Date"
    assert main(args) == 2
    assert "clvlab fit: error: column 'Date'" in capsys.readouterr().err
