"""Shared fixtures: the CDNOW sample, validated and summarised once per test session."""

from __future__ import annotations

import pandas as pd
import pytest

from clvlab import datasets, rfm, transactions

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
