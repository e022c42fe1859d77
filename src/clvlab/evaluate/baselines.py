"""Naive baselines: forecasts that a model of repeat buying has to beat.

Both baselines forecast holdout purchases from the calibration summary alone (columns
``frequency`` :math:`x` and ``T``), with no notion of dropout:

* :class:`OwnRate` - each customer repeats their own calibration rate,
  :math:`\\hat y_i(t) = t \\, x_i / T_i` (0 for a customer with :math:`T_i = 0`);
* :class:`AverageRate` - everyone buys at the average rate of the calibration period,
  :math:`\\hat y_i(t) = t \\sum_j x_j / \\sum_j T_j` (fitted on the calibration table).

To give them a log score, each point forecast is read as the mean of a Poisson
distribution, :math:`P(Y_i(t) = n) = e^{-\\hat y_i} \\hat y_i^n / n!`. A customer with no
repeat purchases gets :math:`\\hat y_i = 0` from :class:`OwnRate`, which rules out any
holdout purchase: if such a customer buys, the log score is :math:`-\\infty` - the
proper score's verdict on a forecast that is certain and wrong.

The baselines answer the calls that :mod:`clvlab.evaluate` makes of a fitted model
(``expected_purchases``, ``probability_of_purchases``, ``method``), with one "draw", so
they enter every comparison next to the models.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
import pandas as pd
import scipy.stats as st
import xarray as xr

__all__ = ["AverageRate", "NaiveBaseline", "OwnRate", "naive_baselines"]


class NaiveBaseline:
    """A constant-rate Poisson forecast per customer; subclasses define the rate."""

    #: Reported as the fitting method in comparison tables.
    method: ClassVar[str] = "baseline"
    #: Label of the baseline in comparison tables and plots.
    label: ClassVar[str]

    def fit(self, data: pd.DataFrame) -> Self:
        """Learn what the rate needs from the calibration table (``frequency``, ``T``)."""
        _check_columns(data)
        return self

    def rates(self, data: pd.DataFrame) -> np.ndarray:
        """Purchases per time unit forecast for each customer of ``data``."""
        raise NotImplementedError

    def _per_customer(self, data: pd.DataFrame, values: np.ndarray, name: str) -> xr.DataArray:
        return xr.DataArray(
            np.asarray(values, dtype=float)[None, None, :],
            dims=("chain", "draw", "customer_id"),
            coords={"chain": [0], "draw": [0], "customer_id": data["customer_id"].to_numpy()},
            name=name,
        )

    def expected_purchases(self, data: pd.DataFrame, *, t: float) -> xr.DataArray:
        """Forecast purchases in the next ``t`` time units: ``t`` times the rate."""
        _check_columns(data)
        return self._per_customer(data, self.rates(data) * float(t), "expected_purchases")

    def probability_of_purchases(self, data: pd.DataFrame, *, n: int, t: float) -> xr.DataArray:
        """Poisson probability of ``n`` purchases in ``t`` with the forecast as mean."""
        _check_columns(data)
        mean = self.rates(data) * float(t)
        return self._per_customer(data, st.poisson.pmf(n, mean), "probability_of_purchases")


class OwnRate(NaiveBaseline):
    """Each customer repeats their calibration rate :math:`x_i / T_i`."""

    label = "naive: own rate"

    def rates(self, data: pd.DataFrame) -> np.ndarray:
        x = data["frequency"].to_numpy(dtype=float)
        T = data["T"].to_numpy(dtype=float)
        return np.divide(x, T, out=np.zeros_like(x), where=T > 0)


class AverageRate(NaiveBaseline):
    """Everyone buys at the calibration period's average rate :math:`\\sum x / \\sum T`.

    Attributes
    ----------
    rate_ : float
        The average rate, after :meth:`fit`.
    """

    label = "naive: average rate"

    def __init__(self) -> None:
        self.rate_: float | None = None

    def fit(self, data: pd.DataFrame) -> Self:
        _check_columns(data)
        exposure = float(data["T"].sum())
        if exposure <= 0:
            raise ValueError("column 'T' sums to 0: the calibration period has no length.")
        self.rate_ = float(data["frequency"].sum()) / exposure
        return self

    def rates(self, data: pd.DataFrame) -> np.ndarray:
        if self.rate_ is None:
            raise ValueError("AverageRate is not fitted yet; call fit(calibration_table).")
        return np.full(len(data), self.rate_)


def naive_baselines(data: pd.DataFrame) -> dict[str, NaiveBaseline]:
    """Both baselines fitted on the calibration table ``data``, keyed by their labels.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"customer_id": [1, 2], "frequency": [0, 4], "T": [10.0, 30.0]})
    >>> {k: v.rates(data).round(3).tolist() for k, v in naive_baselines(data).items()}
    {'naive: own rate': [0.0, 0.133], 'naive: average rate': [0.1, 0.1]}
    """
    return {cls.label: cls().fit(data) for cls in (OwnRate, AverageRate)}


def _check_columns(data: pd.DataFrame) -> None:
    missing = [c for c in ("customer_id", "frequency", "T") if c not in data.columns]
    if missing:
        raise ValueError(
            f"data lacks {missing}; pass a calibration summary (clvlab.rfm.summarize)."
        )
