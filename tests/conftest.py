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


# --------------------------------------------------------------------------- messy export

MESSY_LOST_CUSTOMER = "99999"


@pytest.fixture(scope="session")
def messy_export(tmp_path_factory):
    """A deliberately messy German export of a simulated log (150 customers, BG/NBD and
    Gamma-Gamma, 2024-01-01 to mid 2025): ids with leading zeros (``00001``), columns
    Kundennummer / Bestelldatum / Umsatz, ``;`` as separator, a UTF-8 BOM, dates in mixed
    forms (ISO and dd.mm.yyyy), decimal commas with and without a euro sign, and, added
    on top: 6 rows without a customer id, 4 unreadable dates, 3 amounts written as text,
    5 returns, 7 duplicated rows, customer 88888 with two free orders (amount 0) on two
    days, and customer 99999 whose rows all have bad dates. So 151 customers are valid
    (tests/test_report.py and tests/test_cli_report.py count on it)."""
    import numpy as np

    log = datasets.simulate_transactions(150, seed=3)
    rng = np.random.default_rng(3)
    ids = log["customer_id"].map("{:05d}".format)
    dates = [
        d.strftime("%Y-%m-%d") if i % 2 else d.strftime("%d.%m.%Y")
        for i, d in enumerate(log["date"])
    ]
    euros = [f"{a:.2f}".replace(".", ",") + (" €" if i % 3 == 0 else "") for i, a in
             enumerate(log["amount"])]  # fmt: skip
    table = pd.DataFrame({"Kundennummer": ids, "Bestelldatum": dates, "Umsatz": euros})
    extra = [
        *[("", "03.03.2024", "10,00")] * 3,
        *[("  ", "2024-05-01", "12,50")] * 3,
        ("00002", "31.02.2024", "5,00"),
        ("00003", "unbekannt", "5,00"),
        (MESSY_LOST_CUSTOMER, "", "19,99"),
        (MESSY_LOST_CUSTOMER, "2024-13-45", "19,99"),
        ("00004", "2024-02-02", "gratis"),
        ("00005", "2024-02-03", "n/a"),
        ("00006", "2024-02-04", "zwölf"),
        *[(f"{c:05d}", "2024-06-01", "-9,90") for c in (1, 2, 3, 7, 8)],
        ("88888", "2024-02-01", "0,00"),
        ("88888", "2024-03-01", "0,00"),
    ]
    table = pd.concat(
        [table, pd.DataFrame(extra, columns=table.columns), table.sample(7, random_state=rng)],
        ignore_index=True,
    )
    path = tmp_path_factory.mktemp("messy") / "Umsätze export.csv"
    table.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    return path


@pytest.fixture
def fake_template(monkeypatch):
    """Replace the papermill run of ``clvlab report`` by one that writes what the template
    writes (an empty notebook, customers.csv, validation.csv) at once, for tests of the
    command's checks and outputs; returns the list of the parameters of each run."""
    import nbformat
    from nbformat.v4 import new_notebook

    from clvlab import report

    runs = []

    def execute(parameters, notebook, *, progress=None, cwd=None, timeout=3600):
        runs.append(dict(parameters))
        nbformat.write(new_notebook(), notebook)
        folder = parameters["output_dir"]
        pd.DataFrame({"customer_id": ["001"]}).to_csv(f"{folder}/customers.csv", index=False)
        pd.DataFrame({"count": [1]}).to_csv(f"{folder}/validation.csv", index=False)

    monkeypatch.setattr(report, "execute", execute)
    return runs


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


def pytest_collection_modifyitems(items):
    """Mark every test that uses the Spark session ``spark`` (the Makefile runs them in a
    process of their own: the session's threads outlive them)."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
