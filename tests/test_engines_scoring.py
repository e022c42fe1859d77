"""Scores computed in the engine (DuckDB in chunks, Spark through mapInPandas) equal the
model's own predictions, and their CLVs those of the pandas path (clvlab.clv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab import clv, rfm
from clvlab.engines import scoring
from clvlab.models import BetaGeo, GammaGamma

duckdb = pytest.importorskip("duckdb")

CALIBRATION_END = "1997-09-30"


@pytest.fixture(scope="module")
def fitted(cdnow_rfm):
    """BG/NBD with 8 fixed 'posterior draws' around the published estimates."""
    model = BetaGeo().fit(cdnow_rfm, method="mle")
    posterior = model.posterior
    rng = np.random.default_rng(0)
    shaken = posterior.isel(draw=[0] * 4, chain=[0, 0]).copy()
    for name in model.param_names:
        shaken[name] = shaken[name] * rng.uniform(0.9, 1.1, shaken[name].shape)
    model.idata["posterior"] = shaken.assign_coords(chain=[0, 1], draw=np.arange(4))
    return model


@pytest.fixture(scope="module")
def mle_models(cdnow_rfm):
    """BG/NBD and Gamma-Gamma fitted by maximum likelihood (intervals from the normal
    approximation of the estimates)."""
    repeat = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    return BetaGeo().fit(cdnow_rfm, method="mle"), GammaGamma().fit(repeat, method="mle")


#: CLV options of the tests (fewer approximation draws than the default, for speed).
VALUE = {"discount_rate": 0.15, "margin": 0.3, "approximation_draws": 200, "random_seed": 3}


def pandas_clv(model, spend, summary, t=52.0, **options):
    """The pandas path: clvlab.clv on the whole table, columns as the scores'."""
    table = clv.customer_lifetime_value(model, spend, summary, horizon=t, **VALUE | options)
    return table[["customer_id", *scoring.SCORES, *scoring.VALUE_SCORES]]


def assert_same_scores(scores, expected):
    scores = scores.sort_values("customer_id", ignore_index=True)
    assert list(scores.columns) == list(expected.columns)
    assert scores["customer_id"].tolist() == expected["customer_id"].tolist()
    for column in expected.columns[1:]:
        np.testing.assert_allclose(scores[column], expected[column], rtol=1e-9, err_msg=column)


def reference(model, summary, t=39.0):
    return (
        model.probability_alive(summary).mean(("chain", "draw")).to_numpy(),
        model.expected_purchases(summary, t=t).mean(("chain", "draw")).to_numpy(),
    )


def test_portable_model_thins_draws_and_drops_the_data(fitted):
    light = scoring.portable(fitted, draws=4)
    assert light._data is None and fitted._data is not None
    assert light.posterior.sizes == {"chain": 2, "draw": 2}
    assert scoring.portable(fitted).posterior.sizes == {"chain": 2, "draw": 4}
    with pytest.raises(ValueError, match="at least 1"):
        scoring.portable(fitted, draws=0)
    with pytest.raises(ValueError, match="not fitted"):
        scoring.portable(BetaGeo())


def test_duckdb_scores_in_chunks_equal_the_model(
    fitted, cdnow_log, cdnow_rfm, tmp_path, monkeypatch
):
    monkeypatch.setattr(scoring, "PAIRS_PER_CHUNK", 8 * 1_000)  # 1,000 customers a chunk
    assert scoring.chunk_rows(fitted) == 1_000
    summary = rfm.summarize(duckdb.from_df(cdnow_log), CALIBRATION_END)
    alive, expected = reference(fitted, cdnow_rfm)
    for out in (None, tmp_path / "scores.parquet"):
        scores = scoring.score(fitted, summary, 39.0, out=out)
        assert isinstance(scores, duckdb.DuckDBPyRelation)
        scores = scores.df().sort_values("customer_id", ignore_index=True)
        assert scores["customer_id"].tolist() == cdnow_rfm["customer_id"].tolist()
        np.testing.assert_allclose(scores["probability_alive"], alive, rtol=1e-12)
        np.testing.assert_allclose(scores["expected_purchases"], expected, rtol=1e-12)
    assert (tmp_path / "scores.parquet").exists()


def test_duckdb_clv_in_chunks_equals_the_pandas_clv(
    mle_models, cdnow_log, cdnow_rfm, tmp_path, monkeypatch
):
    """Three chunks, each with its own normal approximation drawn from the same seed: the
    same values and intervals as one call on the whole table."""
    monkeypatch.setattr(scoring, "VALUE_CHUNK_ROWS", 1_000)
    model, spend = mle_models
    summary = rfm.summarize(duckdb.from_df(cdnow_log), CALIBRATION_END)
    expected = pandas_clv(model, spend, cdnow_rfm)
    scores = scoring.score(model, summary, 52.0, spend=spend, out=tmp_path / "v.parquet", **VALUE)
    assert_same_scores(scores.df(), expected)
    assert (expected["clv_low"] < expected["clv_high"]).all()


def test_posterior_draws_and_a_constant_spend(fitted, cdnow_log, cdnow_rfm, monkeypatch):
    monkeypatch.setattr(scoring, "VALUE_CHUNK_ROWS", 1_000)
    summary = rfm.summarize(duckdb.from_df(cdnow_log), CALIBRATION_END)
    scores = scoring.score(fitted, summary, 39.0, spend=35.0, draws=4, **VALUE)
    light = scoring.portable(fitted, draws=4)
    expected = pandas_clv(light, 35.0, cdnow_rfm, t=39.0)
    assert_same_scores(scores.df(), expected)
    np.testing.assert_array_equal(expected["expected_spend"], 35.0)


def test_a_model_fitted_to_the_compressed_table_scores_customers(mle_models, cdnow_log):
    """The engines fit a weighted table (weights="customers"); the scores are per customer
    (regression: clvlab.clv asked the summary for the weights column)."""
    log = duckdb.from_df(cdnow_log)
    table = rfm.summarize(log, CALIBRATION_END, compressed=True)
    model = BetaGeo(weights="customers").fit(table, method="mle")
    scores = scoring.score(model, rfm.summarize(log, CALIBRATION_END), 52.0, spend=mle_models[1])
    scores = scores.df()
    assert len(scores) == 2357 and scores["clv"].sum() > 0
    assert model.weights == "customers"  # the model itself is left as it is


def test_clv_options_are_checked_before_any_work(mle_models, cdnow_rfm):
    model, spend = mle_models
    with pytest.raises(TypeError, match=r"unknown CLV option.*'horizon'"):
        scoring.score(model, cdnow_rfm, 52.0, spend=spend, horizon=52.0)
    with pytest.raises(ValueError, match="need a spend model"):
        scoring.score(model, cdnow_rfm, 52.0, margin=0.3)


def test_pandas_scores_equal_the_model(fitted, cdnow_rfm):
    scores = scoring.score(fitted, cdnow_rfm, 39.0)
    alive, _ = reference(fitted, cdnow_rfm)
    np.testing.assert_allclose(scores["probability_alive"], alive, rtol=1e-12)


@pytest.mark.slow
def test_spark_scores_equal_the_model(spark, fitted, cdnow_rfm):
    frame = spark.createDataFrame(cdnow_rfm[["customer_id", "frequency", "recency", "T"]])
    scores = scoring.score(fitted, frame, 39.0, draws=4)
    assert type(scores).__module__.startswith("pyspark")
    scores = scores.toPandas().sort_values("customer_id", ignore_index=True)
    light = scoring.portable(fitted, draws=4)
    alive, expected = reference(light, cdnow_rfm)
    np.testing.assert_allclose(scores["probability_alive"], alive, rtol=1e-12)
    np.testing.assert_allclose(scores["expected_purchases"], expected, rtol=1e-12)


@pytest.mark.slow
def test_spark_clv_equals_the_pandas_clv(spark, mle_models, cdnow_rfm, monkeypatch):
    """Spark's Arrow batches (500 rows here) are joined into chunks of 1,000 customers."""
    monkeypatch.setattr(scoring, "VALUE_CHUNK_ROWS", 1_000)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
    model, spend = mle_models
    columns = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    frame = spark.createDataFrame(cdnow_rfm[columns])
    scores = scoring.score(model, frame, 52.0, spend=spend, **VALUE)
    assert scores.columns == ["customer_id", *scoring.SCORES, *scoring.VALUE_SCORES]
    assert_same_scores(scores.toPandas(), pandas_clv(model, spend, cdnow_rfm))


def test_joined_batches_have_at_least_the_chunk_rows():
    batches = [pd.DataFrame({"a": range(n)}) for n in (3, 4, 2, 5, 1)]
    assert [len(f) for f in scoring._joined(batches, 6)] == [7, 7, 1]


def test_spend_table_counts_the_repeat_buyers_in_the_engine(cdnow_log, cdnow_rfm):
    """One row per distinct (x, mean spend) pair of the repeat buyers, with the smallest id.
    (DuckDB's parallel sums may differ in the last bit between runs, so the pairs are
    compared with the pandas summary's to 1e-12.)"""
    table = scoring.spend_table(rfm.summarize(duckdb.from_df(cdnow_log), CALIBRATION_END))
    repeat = cdnow_rfm[cdnow_rfm["frequency"] > 0].set_index("customer_id")
    assert list(table.columns) == ["customer_id", "frequency", "monetary_value", "customers"]
    assert table["customers"].sum() == len(repeat) == 946
    assert len(table) < 946 and not table.duplicated(["frequency", "monetary_value"]).any()
    own = repeat.loc[table["customer_id"]]
    assert (own["frequency"].to_numpy() == table["frequency"]).all()
    np.testing.assert_allclose(own["monetary_value"], table["monetary_value"], rtol=1e-12)
