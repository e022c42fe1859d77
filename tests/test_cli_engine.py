"""``clvlab summarize|fit --engine``: DuckDB (and auto) and Spark give the pandas results."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

COLUMNS = ["--customer-col", "customer_id", "--date-col", "date", "--amount-col", "amount"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory, cdnow_log):
    """CDNOW as a folder of two Parquet files."""
    folder = tmp_path_factory.mktemp("lake") / "orders"
    folder.mkdir()
    half = cdnow_log["customer_id"].str.len() < 4
    cdnow_log[half].to_parquet(folder / "a.parquet", index=False)
    cdnow_log[~half].to_parquet(folder / "b.parquet", index=False)
    return folder


@pytest.mark.parametrize("engine", ["auto", "duckdb"])
def test_summarize_a_parquet_folder_in_duckdb(engine, lake, tmp_path, cli, cdnow_rfm):
    out = tmp_path / "rfm.csv"
    run = cli("summarize", lake, *COLUMNS, "--calibration-end", "1997-09-30",
              "--observation-end", "1998-06-30", "--out", out, "--engine", engine)  # fmt: skip
    assert run.code == 0, run.err
    assert "engine duckdb" in run.out and ("auto:" in run.out) == (engine == "auto")
    assert "Validation report: 6,919 rows in, 6,919 kept, 0 removed" in run.out
    assert "223 same-day purchases merged" in run.out
    assert "wrote 2,357 customers" in run.out
    table = pd.read_csv(out, dtype={"customer_id": str})
    assert list(table.columns) == list(cdnow_rfm.columns)
    assert table["customer_id"].tolist() == cdnow_rfm["customer_id"].tolist()
    np.testing.assert_allclose(table["T"], cdnow_rfm["T"], rtol=1e-12)
    assert table["frequency"].sum() == 2457 and table["frequency_holdout"].sum() == 1882


def test_fit_on_the_compressed_table_matches_pandas(lake, tmp_path, cli, cdnow_log):
    parquet = tmp_path / "cdnow.parquet"
    cdnow_log.to_parquet(parquet, index=False)
    common = [*COLUMNS, "--calibration-end", "1997-09-30", "--method", "mle", "--json"]
    runs = {
        engine: cli(
            "fit", parquet, *common, "--engine", engine, "--out", tmp_path / f"{engine}.csv"
        )
        for engine in ("pandas", "duckdb")
    }
    results = {engine: json.loads(run.out) for engine, run in runs.items()}
    assert results["duckdb"]["n_customers"] == results["pandas"]["n_customers"] == 2357
    for name, value in results["pandas"]["params"].items():
        assert results["duckdb"]["params"][name] == pytest.approx(value, rel=1e-6)
    assert "fitting bg-nbd by mle to 2,357 customers" in runs["duckdb"].err
    scores = {e: pd.read_csv(tmp_path / f"{e}.csv", dtype={"customer_id": str}) for e in runs}
    duck = scores["duckdb"].sort_values("customer_id", ignore_index=True)
    assert duck["customer_id"].tolist() == scores["pandas"]["customer_id"].tolist()
    for column in ("probability_alive", "expected_purchases"):
        np.testing.assert_allclose(duck[column], scores["pandas"][column], rtol=1e-5)


def test_pandas_reader_options_are_refused_by_the_engines(lake, tmp_path, cli):
    run = cli("summarize", lake, *COLUMNS, "--calibration-end", "1997-09-30",
              "--out", tmp_path / "x.csv", "--engine", "duckdb", "--sep", ";")  # fmt: skip
    assert "--sep applies to the pandas reader only" in run.error_line()


@pytest.fixture(scope="module")
def cdnow_parquet(tmp_path_factory, cdnow_log):
    """CDNOW as one Parquet file with microsecond dates (Spark reads no nanoseconds)."""
    path = tmp_path_factory.mktemp("spark") / "cdnow.parquet"
    cdnow_log.assign(date=cdnow_log["date"].astype("datetime64[us]")).to_parquet(path)
    return path


def run_in_engines(cli, command, path, args, engine, tmp_path):
    """Run ``clvlab COMMAND`` with ``--engine pandas`` and ``--engine ENGINE``; return the
    runs and the tables written (sorted by customer id where the run succeeded)."""
    runs = {
        e: cli(command, path, *args, "--engine", e, "--out", tmp_path / f"{e}.csv")
        for e in ("pandas", engine)
    }
    tables = {
        e: pd.read_csv(tmp_path / f"{e}.csv", dtype={"customer_id": str}).sort_values(
            "customer_id", ignore_index=True
        )
        for e, run in runs.items()
        if run.code == 0
    }
    return runs, tables


@pytest.mark.slow
def test_fit_in_spark_matches_pandas(spark, cdnow_parquet, tmp_path, cli):
    """``--engine spark`` runs in the active Spark session (the tests' local one; the
    cluster's under spark-submit): validation, compressed table and scores in Spark."""
    common = [*COLUMNS, "--calibration-end", "1997-09-30", "--method", "mle", "--json"]
    fits, scores = run_in_engines(cli, "fit", cdnow_parquet, common, "spark", tmp_path)
    assert fits["spark"].code == 0, fits["spark"].err
    assert "engine spark (chosen)" in fits["spark"].err
    assert "Validation report: 6,919 rows in, 6,919 kept, 0 removed" in fits["spark"].err
    results = {engine: json.loads(run.out) for engine, run in fits.items()}
    assert results["spark"]["n_customers"] == 2357
    for name, value in results["pandas"]["params"].items():
        assert results["spark"]["params"][name] == pytest.approx(value, rel=1e-6)
    spark_scores = scores["spark"]
    assert spark_scores["customer_id"].tolist() == scores["pandas"]["customer_id"].tolist()
    for column in ("probability_alive", "expected_purchases"):
        np.testing.assert_allclose(spark_scores[column], scores["pandas"][column], rtol=1e-5)


@pytest.mark.slow
def test_summarize_in_spark_matches_pandas(spark, cdnow_parquet, tmp_path, cli, cdnow_rfm):
    out = tmp_path / "rfm.csv"
    run = cli("summarize", cdnow_parquet, *COLUMNS, "--calibration-end", "1997-09-30",
              "--observation-end", "1998-06-30", "--out", out, "--engine", "spark")  # fmt: skip
    assert run.code == 0, run.err
    assert "223 same-day purchases merged" in run.out
    assert "wrote 2,357 customers" in run.out
    table = pd.read_csv(out, dtype={"customer_id": str}).sort_values("customer_id")
    assert table["customer_id"].tolist() == cdnow_rfm["customer_id"].tolist()
    assert table["frequency"].sum() == 2457 and table["frequency_holdout"].sum() == 1882
    np.testing.assert_allclose(table["T"], cdnow_rfm["T"], rtol=1e-12)


@pytest.mark.slow
def test_clv_in_duckdb_matches_pandas(lake, tmp_path, cli, cdnow_log):
    """The engine fits both models to their counted tables and scores in DuckDB: the
    pandas command's values and intervals, to the optimiser's tolerance."""
    parquet = tmp_path / "cdnow.parquet"
    cdnow_log.to_parquet(parquet, index=False)
    common = [*COLUMNS, "--calibration-end", "1997-09-30", "--method", "mle"]
    runs, tables = run_in_engines(cli, "clv", parquet, common, "duckdb", tmp_path)
    assert runs["duckdb"].code == 0, runs["duckdb"].err
    assert "fitting bg-nbd and gamma-gamma by mle to 2,357 customers" in runs["duckdb"].err
    duck = tables["duckdb"]
    assert list(duck.columns) == list(tables["pandas"].columns)
    assert duck["customer_id"].tolist() == tables["pandas"]["customer_id"].tolist()
    for column in duck.columns[1:]:
        np.testing.assert_allclose(duck[column], tables["pandas"][column], rtol=1e-3)
    totals = [line for line in runs["duckdb"].err.splitlines() if line.startswith("total value")]
    assert totals == [l for l in runs["pandas"].err.splitlines() if l.startswith("total value")]
