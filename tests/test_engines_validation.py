"""Validation in DuckDB and Spark gives the report of clvlab.transactions.validate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab import datasets, transactions
from clvlab.engines import validation
from clvlab.errors import DataValidationError

duckdb = pytest.importorskip("duckdb")

FIELDS = (
    "rows_in",
    "rows_kept",
    "removed",
    "flagged",
    "customers_in",
    "customers_kept",
    "customers_lost",
    "zero_amount_customers",
    "zero_amount_examples",
)


@pytest.fixture
def messy():
    """Blank and missing ids, a missing date, a missing amount, returns, a duplicate, a
    customer lost to a bad amount, customers whose orders are all 0."""
    return pd.DataFrame(
        {
            "id": [" 007", "007", "007", None, "  ", "8", "8", "9", "9", "10", "10"],
            "d": pd.to_datetime(
                [
                    *["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"],
                    *[None, "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"],
                ]
            ),
            "amt": [5.0, 5.0, -1.0, 3.0, 2.0, 1.0, np.nan, -4.0, 0.0, 0.0, np.inf],
        }
    )


def assert_same_report(got, ref):
    for field in FIELDS:
        assert getattr(got, field) == getattr(ref, field), field
    for field in ("gross_revenue", "returned"):  # summed in another order
        assert getattr(got, field) == pytest.approx(getattr(ref, field), rel=1e-12)
    assert got.reconciles


@pytest.mark.parametrize("duplicates", ["keep", "drop"])
def test_messy_log_reconciles_like_pandas(messy, duplicates):
    policy = {"duplicate": duplicates}
    ref_log, ref = transactions.validate(messy, "id", "d", "amt", policy=policy)
    clean, got = validation.validate(duckdb.from_df(messy), "id", "d", "amt", policy=policy)
    assert_same_report(got, ref)
    clean = clean.df().sort_values(["customer_id", "date"], ignore_index=True)
    assert clean["customer_id"].tolist() == ref_log["customer_id"].tolist()
    np.testing.assert_array_equal(clean["amount"], ref_log["amount"])
    assert "e.g. customer ids 007" in str(got)


def test_cdnow_reconciles_like_pandas(cdnow_log):
    raw = datasets.load_cdnow()
    _, ref = transactions.validate(raw, "customer_id", "date", "amount")
    _, got = validation.validate(duckdb.from_df(raw), "customer_id", "date", "amount")
    assert_same_report(got, ref)
    assert got.flagged["duplicate"] == 21


def test_raise_policy_and_unsupported_input_give_clear_errors(messy):
    relation = duckdb.from_df(messy)
    with pytest.raises(DataValidationError, match=r"column 'amt': 2 row\(s\) with amount"):
        validation.validate(relation, "id", "d", "amt", policy={"bad_amount": "raise"})
    with pytest.raises(DataValidationError, match=r"returns='net'.*engine='pandas'"):
        validation.validate(relation, "id", "d", "amt", returns="net")
    text = duckdb.from_df(messy.assign(d=messy["d"].astype(str)))
    with pytest.raises(DataValidationError, match="column 'd' holds String, not dates"):
        validation.validate(text, "id", "d", "amt")
    with pytest.raises(DataValidationError, match=r"column 'Datum' .*not found"):
        validation.validate(relation, "id", "Datum", "amt")


@pytest.mark.slow
def test_spark_reconciles_like_pandas(spark, messy):
    _, ref = transactions.validate(messy, "id", "d", "amt")
    frame = spark.createDataFrame(messy.assign(d=messy["d"].astype("datetime64[us]")))
    clean, got = validation.validate(frame, "id", "d", "amt")
    assert_same_report(got, ref)
    assert type(clean).__module__.startswith("pyspark")
