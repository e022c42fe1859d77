"""Scores computed in the engine (DuckDB in chunks, Spark through mapInPandas) equal the
model's own predictions."""

from __future__ import annotations

import numpy as np
import pytest

from clvlab import rfm
from clvlab.engines import scoring
from clvlab.models import BetaGeo

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
