"""Choosing and reading a log's engine."""

from __future__ import annotations

import pytest

from clvlab.engines import sources


def test_auto_takes_duckdb_for_folders_globs_and_large_files(tmp_path, monkeypatch):
    small = tmp_path / "log.csv"
    small.write_text("customer_id,date\n1,2024-01-01\n")
    assert sources.choose_engine(small)[0] == "pandas"
    assert sources.choose_engine(tmp_path)[0] == "duckdb"
    assert sources.choose_engine(tmp_path / "*.parquet")[1].startswith("engine duckdb (auto:")
    monkeypatch.setattr(sources, "AUTO_DUCKDB_BYTES", 10)
    engine, reason = sources.choose_engine(small)
    assert engine == "duckdb" and "above" in reason
    assert sources.choose_engine(small, "spark") == ("spark", "engine spark (chosen)")


def test_engine_of_names_what_it_accepts():
    with pytest.raises(ValueError, match="pass a pandas DataFrame, a DuckDB relation"):
        sources.engine_of({"customer_id": [1]})


@pytest.mark.parametrize(
    ("setting", "expected"), [("3GB", 2.7 * 2**30), ("500KB", 488.2 * 2**10), ("-1", 2**64)]
)
def test_duckdb_memory_limit_is_read_in_bytes(setting, expected):
    duckdb = pytest.importorskip("duckdb")
    connection = duckdb.connect()
    connection.execute(f"SET memory_limit = '{setting}'")
    limit = sources.duckdb_memory_limit(connection.sql("SELECT 1"))
    assert limit == pytest.approx(expected, rel=1e-3)
