"""sBG: the shifted-beta-geometric model of contractual retention (Fader & Hardie 2007).

Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. *Journal of
Interactive Marketing* 21(1), 76-90.
Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a contractual setting:
The perils of ignoring heterogeneity. *Marketing Science* 29(1), 85-93.

Assumptions
-----------
* At the end of each period a customer renews the contract with probability
  :math:`1 - \\theta` (churns with probability :math:`\\theta`), so the period :math:`T` in
  which the customer is lost is geometric: :math:`P(T = t \\mid \\theta) = \\theta (1 -
  \\theta)^{t - 1}`, :math:`t = 1, 2, \\dots`
* :math:`\\theta \\sim \\mathrm{Beta}(\\alpha, \\beta)` across customers.

Hence (FH 2007, eqs. 5-7)

.. math::

    P(T = t) = \\frac{B(\\alpha + 1, \\beta + t - 1)}{B(\\alpha, \\beta)}, \\qquad
    S(t) = P(T > t) = \\frac{B(\\alpha, \\beta + t)}{B(\\alpha, \\beta)}, \\qquad
    r_t = \\frac{S(t)}{S(t - 1)} = \\frac{\\beta + t - 1}{\\alpha + \\beta + t - 1}.

The retention rate :math:`r_t` rises with :math:`t` although no customer's :math:`\\theta`
changes: the customers most likely to churn leave first (the retention-curve paradox).

Data: one row per group of customers sharing a history, the count in a weights column
(default ``customers``). A row says that its customers were lost in period ``period``
(``churned`` = 1) or were still active after period ``period`` (``churned`` = 0).
:func:`cohort_table` builds this table from survivor counts of one or several cohorts; a
per-customer table (one row per customer, ``weights=None``) works too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.special as sc
import xarray as xr
from numpy.typing import ArrayLike

from clvlab.errors import DataValidationError
from clvlab.models.base import CLVModel, PriorSpec
from clvlab.models.data import describe_rows
from clvlab.models.params import COVARIATE_PREFIX, Parameter
from clvlab.models.xp import special

__all__ = ["ShiftedBetaGeo", "cohort_table", "projection_table"]


class ShiftedBetaGeo(CLVModel):
    """sBG model (Fader & Hardie 2007) with parameters ``alpha, beta``.

    Parameters
    ----------
    priors : mapping of str to dict, optional
        Overrides of the default priors ``alpha, beta ~ HalfNormal(sigma=10)`` (shapes of
        the beta distribution of the churn probability; its mean is
        ``alpha / (alpha + beta)``).
    covariates : mapping of str to list of str, optional
        See :class:`clvlab.models.base.CLVModel`.
    weights : str or None
        Column with the number of customers per row (default ``"customers"``, as written
        by :func:`cohort_table`); ``None`` for one row per customer.

    Examples
    --------
    >>> from clvlab.datasets import load_sbg_retention
    >>> survivors = load_sbg_retention().set_index("year").loc[:7, "regular"]
    >>> model = ShiftedBetaGeo().fit(cohort_table(survivors), method="mle")
    >>> {k: round(v, 3) for k, v in model.params.items()}
    {'alpha': 0.704, 'beta': 1.182}
    """

    name: ClassVar[str] = "sbg"
    parameters: ClassVar[tuple[Parameter, ...]] = (Parameter("alpha"), Parameter("beta"))
    data_columns: ClassVar[dict[str, str]] = {"t": "period", "churned": "churned"}
    default_nuts_sampler: ClassVar[str] = "nutpie-pyfunc"

    def __init__(
        self,
        priors: Mapping[str, PriorSpec] | None = None,
        *,
        covariates: Mapping[str, Sequence[str]] | None = None,
        weights: str | None = "customers",
    ) -> None:
        super().__init__(priors, covariates=covariates, weights=weights)

    # ------------------------------------------------------------- hooks
    def _default_priors(self, data: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        return {name: {"dist": "HalfNormal", "sigma": 10.0} for name in self.param_names}

    def _initial_params(self, data: Mapping[str, np.ndarray]) -> dict[str, float]:
        return {"alpha": 1.0, "beta": 1.0}

    def _log_likelihood(self, data: Mapping[str, Any], params: Mapping[str, Any], xp: Any):
        sp = special(xp)
        t, churned = data["t"], data["churned"] > 0
        alpha, beta = params["alpha"], params["beta"]
        # FH 2007 eq. 5: lost in period t, P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)
        # (t is set to 1 in the other rows, so that beta + t - 1 stays positive there)
        lost = sp.betaln(alpha + 1, beta + np.where(churned, t, 1.0) - 1)
        # FH 2007 eq. 7: still active after period t, S(t) = B(alpha, beta + t) / B(alpha, beta)
        active = sp.betaln(alpha, beta + t)
        return xp.where(churned, lost, active) - sp.betaln(alpha, beta)

    def _validate(self, frame: pd.DataFrame) -> None:
        ids = frame[self.id_column]
        t, churned = frame["period"], frame["churned"]
        checks = [
            (t != np.round(t), "period", "must be a whole number of periods"),
            (~churned.isin([0, 1]), "churned", "must be 0 (still active) or 1 (lost)"),
            ((churned == 1) & (t < 1), "period", "must be >= 1 where churned is 1"),
        ]
        for bad, column, problem in checks:
            if bad.any():
                raise DataValidationError(
                    f"column {column!r} {problem}, but is not for {self.id_column} "
                    f"{describe_rows(ids[bad])}; build the table from survivor counts with "
                    "clvlab.models.shifted_beta_geo.cohort_table."
                )

    # ------------------------------------------------------------- predictions
    def _population(self, compute: Any, coordinate: str, values: ArrayLike) -> xr.DataArray:
        """``compute(t, params)`` over the posterior draws, dims ``(chain, draw, coordinate)``
        (with covariates: the customer with all covariates 0)."""
        values = _check_periods(values, coordinate)
        rows = {
            "t": values,
            **{COVARIATE_PREFIX + c: np.zeros(values.size) for c in self.layout.covariate_columns},
        }
        return xr.DataArray(
            self._evaluate(lambda d, p: compute(d["t"], p), rows),
            dims=("chain", "draw", coordinate),
            coords={**self._draw_coords(), coordinate: values},
        )

    def survival(self, *, periods: ArrayLike) -> xr.DataArray:
        """Share of a new cohort still active after each of ``periods``,
        :math:`S(t) = B(\\alpha, \\beta + t) / B(\\alpha, \\beta)` (FH 2007 eq. 7).

        Multiply by the cohort size for expected survivors.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, period)``, named ``survival``.
        """

        def compute(t: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
            return np.exp(sc.betaln(p["alpha"], p["beta"] + t) - sc.betaln(p["alpha"], p["beta"]))

        return self._population(compute, "period", periods).rename("survival")

    def retention_rate(self, *, periods: ArrayLike) -> xr.DataArray:
        """Share of the customers active after period ``t - 1`` who renew in period ``t``,
        :math:`r_t = (\\beta + t - 1) / (\\alpha + \\beta + t - 1)` (FH 2007 eq. 8), for
        ``periods`` >= 1.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, period)``, named ``retention_rate``.
        """
        if np.any(np.asarray(periods) < 1):
            raise ValueError(f"retention rates start at period 1, got {periods!r}.")
        return self._population(lambda t, p: _renewal(t - 1.0, p), "period", periods).rename(
            "retention_rate"
        )

    def renewal_probability(self, *, tenure: ArrayLike) -> xr.DataArray:
        """Probability that a customer who has renewed ``tenure`` times renews once more.

        The customer's churn probability is then :math:`\\mathrm{Beta}(\\alpha, \\beta + n)`
        with :math:`n` = ``tenure``, so :math:`P = (\\beta + n) / (\\alpha + \\beta + n)`,
        which equals ``retention_rate`` of period :math:`n + 1`.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, tenure)``, named ``renewal_probability``.
        """
        return self._population(_renewal, "tenure", tenure).rename("renewal_probability")

    def discounted_expected_residual_lifetime(
        self, *, discount_rate: float, tenure: ArrayLike = 0
    ) -> xr.DataArray:
        """DERL: expected discounted number of future payments of an active customer.

        For a customer who has renewed :math:`n` = ``tenure`` times, evaluated just before
        the next renewal decision, with one payment per renewal and discount rate :math:`d`
        per period (FH 2010, eq. 6, with their :math:`n - 1` renewals as our :math:`n`):

        .. math::

            \\mathrm{DERL} = \\sum_{t > n} \\frac{S(t)}{S(n)} (1 + d)^{-(t - n - 1)}
                = \\frac{\\beta + n}{\\alpha + \\beta + n}
                  \\, {}_2F_1\\Big(1, \\beta + n + 1; \\alpha + \\beta + n + 1;
                  \\frac{1}{1 + d}\\Big).

        Multiply by the payment per period for the residual value in money.

        Parameters
        ----------
        discount_rate : float
            :math:`d` > 0, per period (e.g. 0.1 a year for annual contracts).
        tenure : int or array-like of int
            Renewals made so far (0: a customer in the first period).

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, tenure)``, named ``derl``.
        """
        d = float(discount_rate)
        if not np.isfinite(d) or d <= 0:
            raise ValueError(f"discount_rate must be a positive number, got {discount_rate!r}.")

        def compute(n: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
            alpha, beta = p["alpha"], p["beta"]
            series = sc.hyp2f1(1.0, beta + n + 1, alpha + beta + n + 1, 1.0 / (1.0 + d))
            return _renewal(n, p) * series

        derl = self._population(compute, "tenure", tenure).rename("derl")
        derl.attrs["discount_rate"] = d
        return derl

    # ------------------------------------------------------------- simulation
    @classmethod
    def simulate_cohort(
        cls,
        params: Mapping[str, float],
        n_customers: int,
        n_periods: int,
        seed: int | np.random.Generator | None = None,
    ) -> pd.Series:
        """Simulate the survivors of a cohort of ``n_customers`` over ``n_periods`` periods.

        Returns
        -------
        pandas.Series
            Survivors after periods ``0..n_periods`` (index ``period``), ready for
            :func:`cohort_table`.
        """
        rng = np.random.default_rng(seed)
        theta = rng.beta(float(params["alpha"]), float(params["beta"]), size=n_customers)
        lost_in = rng.geometric(np.clip(theta, 1e-12, 1.0))
        periods = np.arange(n_periods + 1)
        survivors = (lost_in[None, :] > periods[:, None]).sum(axis=1)
        return pd.Series(survivors, index=pd.Index(periods, name="period"), name="simulated")


def _renewal(n: Any, params: Mapping[str, np.ndarray]) -> np.ndarray:
    """:math:`(\\beta + n) / (\\alpha + \\beta + n)`: renewal after ``n`` renewals."""
    return (params["beta"] + n) / (params["alpha"] + params["beta"] + n)


def _check_periods(values: ArrayLike, name: str) -> np.ndarray:
    values = np.atleast_1d(np.asarray(values, dtype=float))
    if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values != np.round(values)):
        raise ValueError(f"{name} must be whole numbers >= 0, got {values!r}.")
    return values


# ----------------------------------------------------------------- tables
def cohort_table(survivors: pd.Series | pd.DataFrame) -> pd.DataFrame:
    """The weighted table :class:`ShiftedBetaGeo` fits, from survivor counts.

    Parameters
    ----------
    survivors : pandas.Series or pandas.DataFrame
        Customers still active after periods 0, 1, 2, ... (the index; period 0 holds the
        cohort size), one column per cohort for a DataFrame (named by the column; a
        younger cohort ends in missing values).

    Returns
    -------
    pandas.DataFrame
        One row per cohort and period with customers lost in it (``churned`` = 1, the
        drop from the period before) and one row per cohort for those still active after
        its last period (``churned`` = 0): columns ``customer_id`` (a row label such as
        ``"regular:lost-3"``), ``cohort``, ``period``, ``churned`` and ``customers``. Rows
        with no customers are left out (they carry no likelihood).

    Raises
    ------
    DataValidationError
        If the periods are not 0, 1, 2, ..., or survivor counts are negative, missing
        inside a cohort, or rise from one period to the next.
    """
    if isinstance(survivors, pd.Series):
        survivors = survivors.to_frame("cohort" if survivors.name is None else survivors.name)
    frame = survivors
    periods = np.asarray(frame.index, dtype=float)
    if not np.array_equal(periods, np.arange(len(periods))):
        raise DataValidationError(
            f"survivor counts must be indexed by periods 0, 1, 2, ... (period 0: the cohort "
            f"size), got index {list(frame.index)}; set the index to the period column."
        )
    rows = []
    for cohort in frame.columns:
        counts = pd.to_numeric(frame[cohort], errors="coerce").to_numpy(dtype=float)
        observed = int(np.argmax(np.isnan(counts))) if np.isnan(counts).any() else counts.size
        counts, rest = counts[:observed], counts[observed:]
        problems = [
            (
                observed < 2 or not np.all(np.isnan(rest)),
                "needs counts from period 0 on, "
                "with missing values only after the cohort's last period",
            ),
            (np.any(counts < 0), "has negative counts"),
            (
                np.any(np.diff(counts) > 0),
                "rises from one period to the next at period(s) "
                f"{(np.flatnonzero(np.diff(counts) > 0) + 1).tolist()}",
            ),
        ]
        for bad, problem in problems:
            if bad:
                raise DataValidationError(
                    f"survivor counts of cohort {cohort!r} {problem}; survivors can only fall."
                )
        lost = -np.diff(counts)
        for t in np.flatnonzero(lost > 0) + 1:
            rows.append((f"{cohort}:lost-{t}", cohort, t, 1, lost[t - 1]))
        if counts[-1] > 0:
            last = observed - 1
            rows.append((f"{cohort}:active-{last}", cohort, last, 0, counts[-1]))
    return pd.DataFrame(rows, columns=["customer_id", "cohort", "period", "churned", "customers"])


def projection_table(
    model: ShiftedBetaGeo, survivors: pd.Series, *, fitted_through: int, level: float = 0.94
) -> pd.DataFrame:
    """Projected against actual survivors of a cohort, period by period.

    Parameters
    ----------
    model : ShiftedBetaGeo
        Fitted on the cohort's periods ``0..fitted_through``.
    survivors : pandas.Series
        Actual survivors after periods 0, 1, ... (period 0: the cohort size).
    fitted_through : int
        Last period used in the fit; later periods are projections.
    level : float
        Probability of the interval ``[low, high]`` (equal-tailed, over posterior draws;
        low = high for a point estimate such as ``method="mle"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``period``, ``actual``, ``expected`` (posterior mean of
        cohort size x :math:`S(t)`), ``low``, ``high``, ``error`` (expected - actual, as a
        share of actual) and ``projected`` (True after ``fitted_through``).
    """
    periods = np.asarray(survivors.index, dtype=float)
    expected = float(survivors.iloc[0]) * model.survival(periods=periods)
    tails = [(1 - level) / 2, (1 + level) / 2]
    low, high = expected.quantile(tails, ("chain", "draw")).to_numpy()
    mean = expected.mean(("chain", "draw")).to_numpy()
    actual = survivors.to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "period": periods.astype(int),
            "actual": actual,
            "expected": mean,
            "low": low,
            "high": high,
            "error": (mean - actual) / actual,
            "projected": periods > fitted_through,
        }
    )
