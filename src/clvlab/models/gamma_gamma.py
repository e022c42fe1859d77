"""Gamma-Gamma: spend per transaction (Fader, Hardie & Lee 2005; Colombo & Jiang 1999).

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using iso-value curves
for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
Colombo, R. & Jiang, W. (1999). A stochastic RFM model. *Journal of Interactive
Marketing* 13(3), 2-12.

Assumptions
-----------
* The value of each transaction of customer :math:`i` is
  :math:`z \\sim \\mathrm{Gamma}(p, \\nu_i)` (shape :math:`p`, rate :math:`\\nu_i`), so the
  customer's mean spend is :math:`p / \\nu_i`.
* :math:`\\nu_i \\sim \\mathrm{Gamma}(q, \\gamma)` (shape :math:`q`, rate :math:`\\gamma`)
  across customers.
* Spend is independent of the transaction process: check it with
  :func:`check_spend_independence` (correlation of frequency and mean spend).

Data per customer: :math:`x` repeat purchases (column ``frequency``) with mean value
:math:`\\bar z` (``monetary_value``), as produced by :func:`clvlab.rfm.summarize`. The model
is fitted on customers with :math:`x > 0`. Since :math:`x \\bar z \\mid \\nu \\sim
\\mathrm{Gamma}(px, \\nu)`, the density of :math:`\\bar z` is (FHL 2005, appendix;
Fader & Hardie 2013, "The Gamma-Gamma model of monetary value", eq. 3)

.. math::

    f(\\bar z \\mid p, q, \\gamma, x) =
        \\frac{\\Gamma(px + q)}{\\Gamma(px) \\Gamma(q)}
        \\frac{\\gamma^q \\, \\bar z^{px - 1} x^{px}}{(\\gamma + x \\bar z)^{px + q}},

the density of :math:`\\bar z` itself (with the Jacobian :math:`x` of :math:`x \\bar z`):
this is the likelihood of the published CDNOW log-likelihood -4055.92.

Predictions: the posterior of :math:`\\nu_i` is :math:`\\mathrm{Gamma}(px + q, \\gamma +
x \\bar z)`, so the conditional expected average spend (FHL 2005, eq. 5)

.. math::

    E[Z \\mid p, q, \\gamma, x, \\bar z] = \\frac{p (\\gamma + x \\bar z)}{px + q - 1}
        = \\frac{q - 1}{px + q - 1} \\frac{p \\gamma}{q - 1}
          + \\frac{px}{px + q - 1} \\bar z,

a weighted mean of the population mean :math:`p \\gamma / (q - 1)` and the customer's own
:math:`\\bar z`. A customer without repeat purchases (:math:`x = 0`) gets the population
mean: the formula at :math:`x = 0`, whatever ``monetary_value`` holds. Both are infinite
when :math:`q \\le 1` (the mean of :math:`1/\\nu` does not exist).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.special as sc
import scipy.stats
import xarray as xr

from clvlab.errors import DataValidationError
from clvlab.models.base import CLVModel
from clvlab.models.data import describe_rows
from clvlab.models.params import COVARIATE_PREFIX, Parameter
from clvlab.models.xp import per_distinct, special

__all__ = ["GammaGamma", "SpendIndependence", "check_spend_independence"]


class GammaGamma(CLVModel):
    """Gamma-Gamma model of spend per transaction, parameters ``p, q, gamma``.

    Parameters
    ----------
    priors : mapping of str to dict, optional
        Overrides of the default priors. Defaults (weakly informative):
        ``p, q ~ HalfNormal(sigma=10)`` (shapes, no unit) and
        ``gamma ~ HalfNormal(sigma=10 * mean spend)``, since ``gamma`` carries the money
        unit (the population mean spend is ``p * gamma / (q - 1)``); mean spend is the
        average ``monetary_value`` of the customers fitted.
    covariates, weights
        See :class:`clvlab.models.base.CLVModel`.

    Examples
    --------
    >>> from clvlab.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> model = GammaGamma().fit(summary[summary["frequency"] > 0], method="mle")
    >>> {k: round(v, 2) for k, v in model.params.items()}
    {'p': 6.25, 'q': 3.74, 'gamma': 15.45}
    """

    name: ClassVar[str] = "gamma-gamma"
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("p"),
        Parameter("q"),
        Parameter("gamma"),
    )
    data_columns: ClassVar[dict[str, str]] = {"x": "frequency", "zbar": "monetary_value"}
    default_nuts_sampler: ClassVar[str] = "nutpie-pyfunc"

    # ------------------------------------------------------------- hooks
    def _default_priors(self, data: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        spend = float(np.mean(data["zbar"][data["x"] > 0])) if np.any(data["x"] > 0) else 1.0
        return {
            "p": {"dist": "HalfNormal", "sigma": 10.0},
            "q": {"dist": "HalfNormal", "sigma": 10.0},
            "gamma": {"dist": "HalfNormal", "sigma": 10.0 * spend},
        }

    def _initial_params(self, data: Mapping[str, np.ndarray]) -> dict[str, float]:
        # p = 1, q = 2: a population mean spend p gamma / (q - 1) equal to the data's.
        return {"p": 1.0, "q": 2.0, "gamma": float(np.mean(data["zbar"]))}

    def _log_likelihood(self, data: Mapping[str, Any], params: Mapping[str, Any], xp: Any):
        sp = special(xp)
        x, zbar = data["x"], data["zbar"]
        p, q, gamma = params["p"], params["q"], params["gamma"]
        # FHL 2005: log f(zbar) = log Gamma(px + q) - log Gamma(px) - log Gamma(q)
        #   + q log gamma + (px - 1) log zbar + px log x - (px + q) log(gamma + x zbar)
        # (the Gamma functions of px are computed once per distinct x)
        return (
            per_distinct(x, lambda x: sp.gammaln(p * x + q) - sp.gammaln(p * x), xp)
            - sp.gammaln(q)
            + q * xp.log(gamma)
            + (p * x - 1) * xp.log(zbar)
            + p * x * xp.log(x)
            - (p * x + q) * xp.log(gamma + x * zbar)
        )

    def _log_likelihood_gradient(self, data: Mapping[str, Any], params: Mapping[str, Any]):
        x, zbar = data["x"], data["zbar"]
        p, q, gamma = params["p"], params["q"], params["gamma"]
        psi = sc.digamma(p * x + q)
        log_total = np.log(gamma + x * zbar)
        return {
            "p": x * (psi - sc.digamma(p * x) + np.log(zbar) + np.log(x) - log_total),
            "q": psi - sc.digamma(q) + np.log(gamma) - log_total,
            "gamma": q / gamma - (p * x + q) / (gamma + x * zbar),
        }

    # ------------------------------------------------------------- data checks
    def _validate(self, frame: pd.DataFrame) -> None:
        ids = frame[self.id_column]
        x, zbar = frame["frequency"], frame["monetary_value"]
        not_integer = x != np.round(x)
        if not_integer.any():
            raise DataValidationError(
                "column 'frequency' must count repeat purchases (whole numbers) but is "
                f"fractional for customer_id {describe_rows(ids[not_integer])}; recompute "
                "the summary with clvlab.rfm.summarize."
            )
        free = (x > 0) & (zbar <= 0)
        if free.any():
            raise DataValidationError(
                "column 'monetary_value' must be positive for customers with repeat "
                f"purchases, but is 0 for customer_id {describe_rows(ids[free])}; the "
                "Gamma-Gamma model describes positive spend: remove free orders and returns "
                "from the log (or these customers from the table) first."
            )

    def _validate_for_fit(self, frame: pd.DataFrame) -> None:
        ids = frame[self.id_column]
        once = frame["frequency"] == 0
        if once.any():
            raise DataValidationError(
                "Gamma-Gamma is fitted on customers with at least one repeat purchase, but "
                f"column 'frequency' is 0 for customer_id {describe_rows(ids[once])}; fit on "
                "data[data['frequency'] > 0] (predictions for the others are the population "
                "mean spend)."
            )

    # ------------------------------------------------------------- predictions
    def expected_spend(self, data: pd.DataFrame | None = None) -> xr.DataArray:
        """Conditional expected average spend per transaction of each customer.

        :math:`p (\\gamma + x \\bar z) / (px + q - 1)` (FHL 2005, eq. 5), per posterior
        draw. Customers with ``frequency`` 0 get the population mean spend
        (:meth:`population_mean_spend`); their ``monetary_value`` is ignored.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            ``customer_id``, ``frequency`` and ``monetary_value`` (default: the fitted
            data); customers without repeat purchases may be included.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, customer_id)``, named ``expected_spend``, in the money
            unit of ``monetary_value``; posterior intervals follow from the draws (e.g.
            ``expected_spend(data).quantile([0.03, 0.97], ("chain", "draw"))``).
        """
        return self._per_customer(data, self._conditional_spend, "expected_spend")

    def population_mean_spend(self) -> xr.DataArray:
        """Mean spend per transaction in the population, :math:`p \\gamma / (q - 1)`.

        With covariates, this is the customer with all covariates 0.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw)``, named ``population_mean_spend`` (infinite where
            :math:`q \\le 1`).
        """
        newcomer = {"x": np.zeros(1), "zbar": np.zeros(1)}
        newcomer.update({COVARIATE_PREFIX + c: np.zeros(1) for c in self.layout.covariate_columns})
        return xr.DataArray(
            self._evaluate(self._conditional_spend, newcomer)[..., 0],
            dims=("chain", "draw"),
            coords=self._draw_coords(),
            name="population_mean_spend",
        )

    @staticmethod
    def _conditional_spend(data: Mapping[str, Any], params: Mapping[str, Any]) -> np.ndarray:
        # FHL 2005 eq. 5: E[Z | x, zbar] = p (gamma + x zbar) / (p x + q - 1); at x = 0 the
        # population mean p gamma / (q - 1), infinite when the denominator is not positive.
        x, zbar = data["x"], data["zbar"]
        p, q, gamma = params["p"], params["q"], params["gamma"]
        denominator = p * x + q - 1.0
        spend = (
            p
            * (gamma + x * np.where(x > 0, zbar, 0.0))
            / np.where(denominator > 0, denominator, 1.0)
        )
        return np.where(denominator > 0, spend, np.inf)

    # ------------------------------------------------------------- simulation
    @classmethod
    def simulate_population(
        cls,
        params: Mapping[str, float],
        frequency: Any,
        seed: int | np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Simulate mean repeat spend for customers with the given repeat-purchase counts.

        :math:`\\nu_i \\sim \\mathrm{Gamma}(q, \\gamma)` and, given :math:`\\nu_i`, the sum of
        :math:`x_i` purchase values is :math:`\\mathrm{Gamma}(p x_i, \\nu_i)`.

        Parameters
        ----------
        params : mapping of str to float
            ``p``, ``q`` and ``gamma``.
        frequency : array-like of int
            Repeat purchases per customer (positive).
        seed : int or numpy.random.Generator, optional
            Random seed.

        Returns
        -------
        pandas.DataFrame
            ``customer_id`` (0..n-1), ``frequency`` and ``monetary_value``, ready for ``fit``.
        """
        missing = [p for p in cls.param_names if p not in params]
        if missing:
            raise ValueError(f"params lacks {missing}; {cls.__name__} needs {cls.param_names}.")
        x = np.asarray(frequency, dtype=float)
        if np.any(x < 1) or np.any(x != np.round(x)):
            raise ValueError("frequency must hold whole numbers >= 1 (repeat purchases).")
        rng = np.random.default_rng(seed)
        p, q, gamma = (float(params[k]) for k in cls.param_names)
        nu = rng.gamma(q, 1.0 / gamma, size=x.shape)
        total = rng.gamma(p * x, 1.0 / nu)
        return pd.DataFrame(
            {
                "customer_id": np.arange(x.size),
                "frequency": x.astype(int),
                "monetary_value": total / x,
            }
        )


# ----------------------------------------------------------------- assumption check
@dataclass(frozen=True)
class SpendIndependence:
    """Result of :func:`check_spend_independence`.

    Attributes
    ----------
    correlation : float
        Pearson correlation of ``frequency`` and ``monetary_value`` over repeat buyers.
    low, high : float
        Its interval at ``level`` (Fisher z).
    level : float
        Interval probability.
    n_customers : int
        Repeat buyers used; ``n_excluded`` customers without repeat purchases were left out.
    n_excluded : int
        Customers with ``frequency`` 0.
    threshold : float
        Largest absolute correlation counted as weak.
    """

    correlation: float
    low: float
    high: float
    level: float
    n_customers: int
    n_excluded: int
    threshold: float

    @property
    def holds(self) -> bool:
        """Whether the whole interval lies within ``(-threshold, threshold)``."""
        return -self.threshold < self.low and self.high < self.threshold

    @property
    def message(self) -> str:
        """The verdict in one plain sentence."""
        interval = (
            f"correlation of frequency and mean spend {self.correlation:.2f} "
            f"({self.level:.0%} interval {self.low:.2f} to {self.high:.2f}, "
            f"{self.n_customers} repeat buyers; {self.n_excluded} without repeat purchases "
            "left out)"
        )
        if self.holds:
            zero = "" if self.low <= 0 <= self.high else " (different from 0, but weak)"
            return (
                f"Spend independent of frequency: assumption holds. The {interval} stays "
                f"within +-{self.threshold:g}{zero}."
            )
        return (
            f"Spend depends on frequency: the Gamma-Gamma assumption FAILS. The {interval} "
            f"reaches beyond +-{self.threshold:g}, so expected spend and CLV built on it are "
            "biased; model spend jointly with purchasing or by segment."
        )

    def __str__(self) -> str:
        return self.message


def check_spend_independence(
    data: pd.DataFrame, *, level: float = 0.95, threshold: float = 0.3
) -> SpendIndependence:
    """Check Gamma-Gamma's key assumption: mean spend independent of purchase frequency.

    The Pearson correlation :math:`r` of ``frequency`` and ``monetary_value`` over customers
    with repeat purchases, with the Fisher-z interval :math:`\\tanh(\\operatorname{atanh} r
    \\pm z_{(1+\\text{level})/2} / \\sqrt{n - 3})`. FHL (2005) report 0.11 on CDNOW and
    accept it as weak. The assumption is counted as holding when the whole interval lies
    within :math:`\\pm` ``threshold``.

    Parameters
    ----------
    data : pandas.DataFrame
        ``frequency`` and ``monetary_value`` per customer (e.g. :func:`clvlab.rfm.summarize`).
    level : float
        Interval probability.
    threshold : float
        Largest absolute correlation counted as weak.

    Returns
    -------
    SpendIndependence
        ``str(result)`` states the verdict plainly.

    Raises
    ------
    DataValidationError
        If a column is missing or fewer than 4 customers have repeat purchases.
    """
    missing = [c for c in ("frequency", "monetary_value") if c not in data.columns]
    if missing:
        raise DataValidationError(
            f"column(s) {missing} missing; pass a summary such as clvlab.rfm.summarize's."
        )
    repeat = data[data["frequency"] > 0]
    n = len(repeat)
    if n < 4:
        raise DataValidationError(
            f"only {n} customers have repeat purchases; the correlation needs at least 4."
        )
    r = float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1])
    half = scipy.stats.norm.ppf((1 + level) / 2) / np.sqrt(n - 3)
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    return SpendIndependence(
        correlation=r,
        low=float(np.tanh(z - half)),
        high=float(np.tanh(z + half)),
        level=level,
        n_customers=n,
        n_excluded=len(data) - n,
        threshold=threshold,
    )
