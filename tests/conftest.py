"""Shared fixtures: the CDNOW sample, validated and summarised once per test session, and
helpers to run the command line."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import pandas as pd
import pytest

from clvlab import datasets, rfm, transactions
from clvlab.cli import main

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"


@pytest.fixture(scope="session")
def cdnow_log():
    """The validated CDNOW transaction log."""
    log, _ = transactions.validate(datasets.load_cdnow(), "customer_id", "date", "amount")
    return log


@pytest.fixture(scope="session")
def cdnow_rfm(cdnow_log):
    """CDNOW summarised with the FHL (2005) calibration and holdout periods, in weeks."""
    return rfm.summarize(cdnow_log, CALIBRATION_END, OBSERVATION_END, time_unit="W")


@pytest.fixture(scope="session")
def german_csv(tmp_path_factory, cdnow_log):
    """CDNOW as a German export: other column names, day-first dates, ';' as separator."""
    path = tmp_path_factory.mktemp("cli") / "umsaetze.csv"
    table = cdnow_log.rename(columns={"customer_id": "Kunde", "date": "Datum", "amount": "Umsatz"})
    table = table.assign(Datum=table["Datum"].dt.strftime("%d.%m.%Y"))
    table.to_csv(path, sep=";", index=False)
    return path


@pytest.fixture(scope="session")
def spot_customers():
    """Three customers of the published spot checks: the BTYD vignette customer (x = 26),
    FHL's customer with x = 2, and one without repeat purchases."""
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "frequency": [26, 2, 0],
            "recency": [30.857, 30.43, 0.0],
            "T": [31.0, 38.86, 38.86],
        }
    )


# --------------------------------------------------------------------------- command line


@dataclass
class CliRun:
    """What one ``clvlab`` command gave: exit status, standard output and error."""

    code: int
    out: str
    err: str

    def error_line(self) -> str:
        """The one line of a failed command (fails the test unless there is exactly one
        line on standard error and no traceback)."""
        assert self.code == 2, (self.code, self.err)
        assert "Traceback" not in self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, lines
        return lines[0]


@pytest.fixture
def cli(capsys):
    """``cli(*argv)`` runs the command line in-process and returns a :class:`CliRun`."""

    def run(*argv) -> CliRun:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def german_args():
    """``german_args(command, path, *extra)``: the arguments of ``command`` on a file
    written like :func:`german_csv` (columns Kunde, Datum, Umsatz)."""

    def arguments(command: str, path, *extra) -> list[str]:
        columns = ["--customer-col", "Kunde", "--date-col", "Datum", "--amount-col", "Umsatz"]
        return [command, str(path), *columns, *map(str, extra)]

    return arguments


@pytest.fixture(scope="session")
def small_german_csv(tmp_path_factory, cdnow_log):
    """The first 300 CDNOW customers as a German export (fast to fit)."""
    path = tmp_path_factory.mktemp("cli") / "klein.csv"
    table = cdnow_log[cdnow_log["customer_id"].astype(int) <= 300]
    table = table.rename(columns={"customer_id": "Kunde", "date": "Datum", "amount": "Umsatz"})
    table = table.assign(Datum=table["Datum"].dt.strftime("%d.%m.%Y"))
    table.to_csv(path, sep=";", index=False)
    return path


@pytest.fixture
def holdout_data():
    """Five customers with calibration summaries and holdout purchases (two durations)."""
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "frequency": [0, 0, 2, 9, 12],
            "recency": [0.0, 0.0, 30.43, 20.0, 38.0],
            "T": [38.86, 30.0, 38.86, 35.0, 38.5],
            "frequency_holdout": [0, 1, 1, 0, 6],
            "duration_holdout": [39.0, 39.0, 39.0, 39.0, 20.0],
        }
    )


@pytest.fixture
def published_models():
    """BG/NBD and MBG/NBD with their published CDNOW estimates (weeks, PUBLISHED_ESTIMATES.md)."""
    from clvlab.models import BetaGeo, ModifiedBetaGeo

    return {
        "BG/NBD": BetaGeo.from_params({"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}),
        "MBG/NBD": ModifiedBetaGeo.from_params(
            {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
        ),
    }


# --------------------------------------------------------------------------- Spark


@pytest.fixture(scope="session")
def spark():
    """One PySpark session in local mode for the whole test run (starting one takes
    seconds to a minute); few shuffle partitions, since the test logs are small; workers
    run this interpreter (a system Python of another version would be refused)."""
    pyspark_sql = pytest.importorskip("pyspark.sql")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("clvlab-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
