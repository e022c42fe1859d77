"""The RFM summary and its compressed table computed in DuckDB and Spark agree with the
pandas reference (:func:`clvlab.rfm.summarize`): on CDNOW customer by customer, and on
random logs (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clvlab import rfm
from clvlab.engines import sources
from clvlab.engines import summary as engine
from clvlab.errors import DataValidationError
from clvlab.models import BetaGeo
from clvlab.models.compression import compress

duckdb = pytest.importorskip("duckdb")

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"


def as_pandas(result) -> pd.DataFrame:
    """An engine's summary (DuckDB relation or Spark DataFrame) as pandas."""
    frame = result.df() if hasattr(result, "df") else result.toPandas()
    return frame.reset_index(drop=True)


def assert_same_summary(got: pd.DataFrame, ref: pd.DataFrame, unit_days: int) -> None:
    """Every customer, x and holdout x exactly, times to 1e-9 days, money to 1e-9."""
    assert got["customer_id"].astype(str).tolist() == ref["customer_id"].astype(str).tolist()
    for column in ("frequency", "frequency_holdout"):
        if column in ref:
            np.testing.assert_array_equal(got[column].to_numpy(), ref[column].to_numpy())
    for column in ("recency", "T", "duration_holdout"):
        if column in ref:
            diff = np.abs(got[column].to_numpy() - ref[column].to_numpy()) * unit_days
            assert diff.max() <= 1e-9, column
    for column in ("monetary_value", "monetary_value_holdout"):
        if column in ref:
            np.testing.assert_allclose(got[column], ref[column], rtol=1e-9, atol=1e-9)
    first = pd.to_datetime(got["first_purchase"]).dt.tz_localize(None).astype("datetime64[ns]")
    np.testing.assert_array_equal(first.to_numpy(), ref["first_purchase"].to_numpy())


def assert_same_compressed(table: pd.DataFrame, ref: pd.DataFrame) -> None:
    """The compressed table holds the pandas summary's distinct rows and counts."""
    want = compress({k: ref[k] for k in ("frequency", "recency", "T")})
    np.testing.assert_array_equal(table["customers"].to_numpy(), want.weights)
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(table[column].to_numpy(dtype=float), want.values[column])
    assert table.attrs["customers"] == len(ref)
    assert table.attrs["merged_same_day"] == ref.attrs["merged_same_day"]
    assert table.attrs["customers_after_calibration"] == ref.attrs["customers_after_calibration"]


# ------------------------------------------------------------------- CDNOW, in DuckDB


@pytest.fixture(scope="module")
def cdnow_days(cdnow_log):
    return rfm.summarize(cdnow_log, CALIBRATION_END, OBSERVATION_END, time_unit="D")


@pytest.fixture(scope="module")
def cdnow_parquet(tmp_path_factory, cdnow_log):
    """CDNOW as a directory of two Parquet files (customers split by id)."""
    directory = tmp_path_factory.mktemp("lake")
    low = cdnow_log["customer_id"].str.len() < 4
    cdnow_log[low].to_parquet(directory / "part-0.parquet", index=False)
    cdnow_log[~low].to_parquet(directory / "part-1.parquet", index=False)
    return directory


@pytest.mark.parametrize("source", ["relation", "directory", "glob", "file"])
def test_duckdb_reproduces_cdnow_for_every_customer(
    source, cdnow_log, cdnow_days, cdnow_parquet, tmp_path
):
    if source == "relation":
        log = duckdb.from_df(cdnow_log)
    elif source == "directory":
        log = cdnow_parquet
    elif source == "glob":
        log = str(cdnow_parquet / "*.parquet")
    else:
        log = tmp_path / "cdnow.parquet"
        cdnow_log.to_parquet(log, index=False)
    got = rfm.summarize(log, CALIBRATION_END, OBSERVATION_END, time_unit="D")
    assert isinstance(got, duckdb.DuckDBPyRelation)  # stays in DuckDB until read
    got = as_pandas(got)
    assert_same_summary(got, cdnow_days, unit_days=1)
    totals = len(got), got["frequency"].sum(), got["frequency_holdout"].sum()
    assert totals == (2357, 2457, 1882)


def test_unsorted_summary_holds_the_same_customers(cdnow_log, cdnow_days):
    got = engine.summarize(
        duckdb.from_df(cdnow_log), CALIBRATION_END, OBSERVATION_END, "D", sort=False
    )
    sql = got.sql_query()
    assert "ORDER BY" not in sql  # no global sort of the customers
    got = as_pandas(got).sort_values("customer_id", ignore_index=True)
    assert_same_summary(got, cdnow_days, unit_days=1)


def test_first_day_amount_adds_every_row_of_the_first_day():
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a"],
            "date": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-01", "2024-01-03"]),
            "amount": [5.0, 1.0, 2.0, 7.0],
        }
    )
    got = as_pandas(engine.summarize(duckdb.from_df(log), "2024-01-03", time_unit="D"))
    want = rfm.summarize(log, "2024-01-03", time_unit="D")
    assert got["monetary_value"].tolist() == want["monetary_value"].tolist() == [6.0]


def test_compressed_cdnow_fits_like_the_customer_table(cdnow_log, cdnow_rfm):
    table = rfm.summarize(duckdb.from_df(cdnow_log), CALIBRATION_END, compressed=True)
    assert len(table) == 1016
    assert_same_compressed(table, cdnow_rfm)
    assert table.attrs["calibration_end"] == CALIBRATION_END
    weighted = BetaGeo(weights="customers").fit(table, method="mle")
    per_customer = BetaGeo().fit(cdnow_rfm, method="mle")
    for name, value in per_customer.params.items():
        assert weighted.params[name] == pytest.approx(value, rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(per_customer.log_likelihood_, rel=1e-9)


def test_pandas_input_compresses_through_duckdb(cdnow_log, cdnow_rfm):
    table = rfm.summarize(cdnow_log, CALIBRATION_END, compressed=True)
    assert_same_compressed(table, cdnow_rfm)


def test_csv_ids_keep_their_leading_zeros(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount\n007,2024-01-01,5\n007,2024-01-08,4\n7,2024-01-02,1\n")
    got = as_pandas(rfm.summarize(path, "2024-01-08", time_unit="D"))
    assert got["customer_id"].tolist() == ["007", "7"]
    assert got["frequency"].tolist() == [1, 0]


def test_engine_errors_name_the_column_and_the_fix(cdnow_log):
    relation = duckdb.from_df(cdnow_log)
    with pytest.raises(DataValidationError, match=r"column 'Datum' not found.*engines\.validation"):
        rfm.summarize(relation, CALIBRATION_END, date="Datum")
    text_dates = duckdb.from_df(cdnow_log.assign(date=cdnow_log["date"].astype(str)))
    with pytest.raises(DataValidationError, match="holds String, not dates"):
        rfm.summarize(text_dates, CALIBRATION_END)
    with pytest.raises(DataValidationError, match="no customer bought on or before"):
        rfm.summarize(relation, "1990-01-01")
    with pytest.raises(DataValidationError, match="before calibration_end"):
        rfm.summarize(relation, CALIBRATION_END, "1997-01-01")
    missing = duckdb.from_df(
        cdnow_log.assign(customer_id=cdnow_log["customer_id"].where(cdnow_log.index > 2))
    )
    with pytest.raises(DataValidationError, match="'customer_id' is missing in 3 rows"):
        rfm.summarize(missing, CALIBRATION_END)
    with pytest.raises(DataValidationError, match=r"not 'log\.xlsx'"):
        rfm.summarize("log.xlsx", CALIBRATION_END)
    with pytest.raises(DataValidationError, match="cannot summarise a list"):
        engine.summarize([1, 2], CALIBRATION_END)


def test_calibration_end_after_the_log_is_warned_about(cdnow_log):
    with pytest.warns(UserWarning, match="calibration_end 1998-12-31 is 184 days after"):
        rfm.summarize(duckdb.from_df(cdnow_log), "1998-12-31", compressed=True)


def test_warnings_point_at_the_callers_line(cdnow_log):
    relation = duckdb.from_df(cdnow_log)
    for summarize in (rfm.summarize, engine.summarize):  # public entry and engine module
        with pytest.warns(UserWarning, match="calibration_end 1998-12-31") as caught:
            summarize(relation, "1998-12-31")
        assert caught[0].filename == __file__


def test_compress_of_a_written_summary_is_the_compressed_log(cdnow_log, tmp_path):
    relation = duckdb.from_df(cdnow_log)
    path = tmp_path / "summary.parquet"
    rfm.summarize(relation, CALIBRATION_END, OBSERVATION_END).write_parquet(str(path))
    table = engine.compress(path)
    want = engine.compressed(relation, CALIBRATION_END)
    pd.testing.assert_frame_equal(table, want, check_like=False)
    assert table.attrs == {"customers": 2357}
    with pytest.raises(
        DataValidationError, match=r"\['frequency', 'recency', 'T'\] not found.*compressed"
    ):
        engine.compress(cdnow_log)


def test_a_log_beyond_duckdbs_memory_is_summarised_in_slices_of_customers(
    cdnow_log, cdnow_days, cdnow_rfm, monkeypatch
):
    relation = duckdb.from_df(cdnow_log)
    # Three slices: each row as large as a third of half the memory limit allows.
    budget = sources.duckdb_memory_limit(relation) / 2
    monkeypatch.setattr(sources, "BYTES_PER_ROW", 2.5 * budget / len(cdnow_log))
    got = rfm.summarize(relation, CALIBRATION_END, OBSERVATION_END, time_unit="D")
    assert got.sql_query().count("hash(") == 3
    assert_same_summary(as_pandas(got), cdnow_days, unit_days=1)
    assert_same_compressed(rfm.summarize(relation, CALIBRATION_END, compressed=True), cdnow_rfm)


# ------------------------------------------------------------------- random logs

START = np.datetime64("2024-01-01")


@st.composite
def logs(draw, prefix: str = "") -> pd.DataFrame:
    """Logs with text ids (leading zeros: ``07`` and ``7`` are two customers), same-day
    purchases, exact duplicates, times of day and customers first buying after the
    calibration end (day 30)."""
    ids = draw(
        st.lists(
            st.sampled_from(["0", "00", "07", "7", "010", "10", "x1"]), min_size=1, max_size=25
        )
    )
    n = len(ids)
    days = draw(st.lists(st.integers(0, 59), min_size=n, max_size=n))
    hours = draw(st.lists(st.integers(0, 23), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(0, 50_000), min_size=n, max_size=n))
    log = pd.DataFrame(
        {
            "customer_id": pd.array([prefix + i for i in ids], dtype="string"),
            "date": (START + np.array(days, dtype="timedelta64[D]")).astype("datetime64[us]")
            + np.array(hours, dtype="timedelta64[h]"),
            "amount": np.array(cents) / 100,
        }
    )
    repeat = draw(st.integers(0, n))
    return pd.concat([log, log.iloc[:repeat]], ignore_index=True)  # duplicates


def reference(log: pd.DataFrame, unit: str) -> pd.DataFrame | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return rfm.summarize(log, "2024-01-31", "2024-02-20", time_unit=unit)
        except DataValidationError:
            return None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs(), unit=st.sampled_from(["D", "W"]))
def test_duckdb_agrees_with_pandas_on_random_logs(log, unit):
    ref = reference(log, unit)
    relation = duckdb.from_df(log)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if ref is None:  # nobody bought by the calibration end: both refuse
            with pytest.raises(DataValidationError, match="no customer bought"):
                rfm.summarize(relation, "2024-01-31", "2024-02-20", time_unit=unit)
            return
        got = rfm.summarize(relation, "2024-01-31", "2024-02-20", time_unit=unit)
        table = rfm.summarize(relation, "2024-01-31", time_unit=unit, compressed=True)
    assert_same_summary(as_pandas(got), ref, unit_days={"D": 1, "W": 7}[unit])
    assert_same_compressed(table, ref)


# ------------------------------------------------------------------- Spark


@pytest.mark.slow
def test_spark_reproduces_cdnow(spark, cdnow_log, cdnow_days):
    frame = spark.createDataFrame(cdnow_log.assign(date=cdnow_log["date"].astype("datetime64[us]")))
    got = rfm.summarize(frame, CALIBRATION_END, OBSERVATION_END, time_unit="D")
    assert type(got).__module__.startswith("pyspark")  # stays a Spark DataFrame
    got = as_pandas(got)
    assert_same_summary(got, cdnow_days, unit_days=1)
    assert (len(got), got["frequency"].sum(), got["frequency_holdout"].sum()) == (
        2357,
        2457,
        1882,
    )
    table = rfm.summarize(frame, CALIBRATION_END, compressed=True)
    assert len(table) == 1016 and table.attrs["customers"] == 2357


@pytest.mark.slow
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(parts=st.lists(logs(), min_size=10, max_size=10))
def test_spark_agrees_with_pandas_on_random_logs(spark, parts):
    # Ten random logs under distinct id prefixes make one log: one Spark query checks all.
    log = pd.concat(
        [part.assign(customer_id=f"{k}-" + part["customer_id"]) for k, part in enumerate(parts)],
        ignore_index=True,
    )
    ref = reference(log, "D")
    if ref is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = rfm.summarize(spark.createDataFrame(log), "2024-01-31", "2024-02-20", "D")
    assert_same_summary(as_pandas(got), ref, unit_days=1)
