"""Buy-till-you-die models in continuous time: shared predictions and simulation.

BG/NBD, MBG/NBD and Pareto/NBD describe each customer by a purchase rate
:math:`\\lambda \\sim \\mathrm{Gamma}(r, \\alpha)` and an unobserved dropout; the data per
customer are :math:`x` (repeat purchases), :math:`t_x` (time of the last one after the
first purchase) and :math:`T` (time from the first purchase to the end of the
calibration period), in the columns ``frequency``, ``recency`` and ``T``.

All three models share one structure that gives every conditional prediction from two
ingredients:

1. :math:`P(\\text{alive} \\mid x, t_x, T)`;
2. for a customer alive at :math:`T`, the posterior of the latent traits stays in the
   prior's family with updated parameters (e.g. BG/NBD: :math:`\\lambda \\sim
   \\mathrm{Gamma}(r + x, \\alpha + T)`, :math:`p \\sim \\mathrm{Beta}(a, b + x)`), and by
   memorylessness the future is that of a customer *alive at time 0* with these
   parameters.

Hence, with :math:`\\theta'` the updated parameters,

.. math::

    E[Y(t) \\mid x, t_x, T] = P(\\text{alive}) \\; E_{\\theta'}[X(t) \\mid \\text{alive at 0}],

    P(Y(t) = n \\mid x, t_x, T) = P(\\text{alive}) \\, P_{\\theta'}(X(t) = n \\mid \\text{alive
    at 0}) + (1 - P(\\text{alive})) \\, [n = 0],

which reproduces e.g. FHL (2005) eq. 10 for BG/NBD. A *new* customer is the special case
:math:`x = t_x = T = 0` (this also covers MBG/NBD, where a customer may drop out right
after the first purchase). Subclasses therefore only supply ``_log_probability_alive``,
``_alive_params``, ``_expected_purchases_alive``, ``_probability_of_purchases_alive`` and
``_simulate``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike

from clvlab.errors import DataValidationError
from clvlab.models.base import CLVModel
from clvlab.models.data import describe_rows
from clvlab.models.params import COVARIATE_PREFIX

__all__ = ["BuyTillYouDieModel"]

Params = Mapping[str, Any]
Data = Mapping[str, np.ndarray]


class BuyTillYouDieModel(CLVModel):
    """Base class of the continuous-time buy-till-you-die models (BG/NBD, MBG/NBD,
    Pareto/NBD).

    Input: one row per customer with ``customer_id``, ``frequency`` (repeat purchases
    :math:`x`, an integer), ``recency`` (:math:`t_x`) and ``T``, in one time unit — e.g.
    the output of :func:`clvlab.rfm.summarize`.
    """

    data_columns: ClassVar[dict[str, str]] = {"x": "frequency", "t_x": "recency", "T": "T"}
    #: Relative tolerance for ``recency <= T`` (summaries are often rounded).
    _recency_tolerance: ClassVar[float] = 1e-9

    # ------------------------------------------------------------- hooks
    @abstractmethod
    def _log_probability_alive(self, data: Data, params: Params) -> np.ndarray:
        """``log P(alive at T | x, t_x, T)`` (numpy, broadcasting params against data)."""

    @abstractmethod
    def _alive_params(self, data: Data, params: Params) -> dict[str, np.ndarray]:
        """Parameters of the latent-trait posterior of a customer alive at ``T``."""

    @abstractmethod
    def _expected_purchases_alive(self, params: Params, t: ArrayLike) -> np.ndarray:
        """``E[X(t)]`` for a customer alive at time 0 with parameters ``params``."""

    @abstractmethod
    def _probability_of_purchases_alive(self, params: Params, n: int, t: float) -> np.ndarray:
        """``P(X(t) = n)`` for a customer alive at time 0 with parameters ``params``."""

    @classmethod
    @abstractmethod
    def _simulate(
        cls, params: Params, T: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Simulate ``(x, t_x)`` for customers observed for ``T`` (params broadcast)."""

    # ------------------------------------------------------------- data checks
    def _validate(self, frame: pd.DataFrame) -> None:
        ids = frame[self.id_column]
        x, t_x, T = (frame[c] for c in ("frequency", "recency", "T"))
        not_integer = x != np.round(x)
        if not_integer.any():
            raise DataValidationError(
                "column 'frequency' must count repeat purchases (whole numbers) but is "
                f"fractional for customer_id {describe_rows(ids[not_integer])}; recompute "
                "the summary with clvlab.rfm.summarize."
            )
        too_late = t_x > T * (1 + self._recency_tolerance)
        if too_late.any():
            raise DataValidationError(
                "column 'recency' exceeds column 'T' for customer_id "
                f"{describe_rows(ids[too_late])}; recency (time of the last repeat purchase "
                "after the first) must lie within the calibration period: check the "
                "calibration end and the time unit of both columns."
            )
        inconsistent = (x == 0) & (t_x != 0)
        if inconsistent.any():
            raise DataValidationError(
                "column 'recency' must be 0 when 'frequency' is 0, but is not for "
                f"customer_id {describe_rows(ids[inconsistent])}; recency is measured from "
                "the first purchase to the last repeat purchase."
            )
        instant = (x > 0) & (t_x == 0)
        if instant.any():
            raise DataValidationError(
                "column 'recency' is 0 although 'frequency' counts repeat purchases for "
                f"customer_id {describe_rows(ids[instant])}; a repeat purchase happens after "
                "the first (same-day purchases count as one: summarise the log with "
                "clvlab.rfm.summarize, or use a finer time unit)."
            )

    def _validate_for_fit(self, frame: pd.DataFrame) -> None:
        if not (frame["T"] > 0).any():
            raise DataValidationError(
                "column 'T' is 0 for every customer: all first purchases fall at the end of "
                "the calibration period (or all purchases on one day), so the data say "
                "nothing about purchase or dropout rates; choose a later calibration end."
            )

    # ------------------------------------------------------------- predictions
    def probability_alive(self, data: pd.DataFrame | None = None) -> xr.DataArray:
        """Probability that each customer is still active at the end of calibration.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            Per-customer table (default: the data the model was fitted to).

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, customer_id)``, named ``probability_alive``.
        """
        return self._per_customer(
            data, lambda d, p: np.exp(self._log_probability_alive(d, p)), "probability_alive"
        )

    def expected_purchases(self, data: pd.DataFrame | None = None, *, t: float) -> xr.DataArray:
        """Expected number of purchases in the next ``t`` time units given each history.

        :math:`E[Y(t) \\mid x, t_x, T] = P(\\text{alive}) E_{\\theta'}[X(t)]` (see the module
        documentation); for BG/NBD this is FHL (2005) eq. 10. ``t = 0`` gives 0.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, customer_id)``, named ``expected_purchases``.

        Raises
        ------
        ValueError
            If ``t`` is negative, infinite or NaN.
        """
        t = float(_check_horizon(t))

        def compute(d: Data, p: dict[str, np.ndarray]) -> np.ndarray:
            alive = np.exp(self._log_probability_alive(d, p))
            if t == 0:
                return np.zeros_like(alive)
            return alive * self._expected_purchases_alive(self._alive_params(d, p), t)

        return self._per_customer(data, compute, "expected_purchases", {"t": t})

    def probability_of_purchases(
        self, data: pd.DataFrame | None = None, *, n: int, t: float
    ) -> xr.DataArray:
        """Probability of exactly ``n`` purchases in the next ``t`` time units per customer.

        .. math::

            P(Y(t) = n \\mid x, t_x, T) = P(\\text{alive}) P_{\\theta'}(X(t) = n)
                                         + (1 - P(\\text{alive}))[n = 0]

        with :math:`P_{\\theta'}(X(t) = n)` the model's count distribution for a customer
        alive at time 0 (FHL 2005 eq. 8 for BG/NBD). ``t = 0`` gives exactly ``[n = 0]``.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, customer_id)``, named ``probability_of_purchases``.

        Raises
        ------
        ValueError
            If ``n`` is not a non-negative whole number, or ``t`` is negative, infinite or
            NaN.
        """
        n = _check_count(n)
        t = float(_check_horizon(t))

        def compute(d: Data, p: dict[str, np.ndarray]) -> np.ndarray:
            alive = np.exp(self._log_probability_alive(d, p))
            if t == 0:
                return np.full(alive.shape, float(n == 0))
            prob = self._probability_of_purchases_alive(self._alive_params(d, p), n, t)
            return alive * prob + (1.0 - alive) * (n == 0)

        return self._per_customer(data, compute, "probability_of_purchases", {"n": n, "t": t})

    def expected_purchases_new_customer(self, *, t: ArrayLike) -> xr.DataArray:
        """Expected number of repeat purchases of a new customer within ``t`` of the first.

        With covariates, this is the customer with all covariates 0.

        Returns
        -------
        xarray.DataArray
            Dims ``(chain, draw, t)``, named ``expected_purchases_new_customer``.

        Raises
        ------
        ValueError
            If a ``t`` is negative, infinite or NaN.
        """
        t = np.atleast_1d(_check_horizon(t))
        new_customer = {"x": np.zeros(1), "t_x": np.zeros(1), "T": np.zeros(1)}
        new_customer.update(
            {COVARIATE_PREFIX + c: np.zeros(1) for c in self.layout.covariate_columns}
        )

        def compute(d: Data, p: dict[str, np.ndarray]) -> np.ndarray:
            alive = np.exp(self._log_probability_alive(d, p))
            value = alive * self._expected_purchases_alive(self._alive_params(d, p), t)
            return np.where(t == 0, 0.0, value)

        return xr.DataArray(
            self._evaluate(compute, new_customer),
            dims=("chain", "draw", "t"),
            coords={**self._draw_coords(), "t": t},
            name="expected_purchases_new_customer",
        )

    # ------------------------------------------------------------- simulation
    @classmethod
    def simulate_population(
        cls,
        params: Mapping[str, float],
        n_customers: int,
        T: ArrayLike = 52.0,
        seed: int | np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Simulate a per-customer summary from the model with known parameters.

        Parameters
        ----------
        params : mapping of str to float
            A value for every name in ``param_names``.
        n_customers : int
            Number of customers.
        T : float or array-like
            Observation length per customer (scalar or ``n_customers`` values).
        seed : int or numpy.random.Generator, optional
            Random seed.

        Returns
        -------
        pandas.DataFrame
            Columns ``customer_id`` (0..n-1), ``frequency``, ``recency``, ``T``, ready for
            ``fit``.
        """
        missing = [p for p in cls.param_names if p not in params]
        if missing:
            raise ValueError(f"params lacks {missing}; {cls.__name__} needs {cls.param_names}.")
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
        values = {k: float(params[k]) for k in cls.param_names}
        x, t_x = cls._simulate(values, T, rng)
        return pd.DataFrame(
            {
                "customer_id": np.arange(n_customers),
                "frequency": x.astype(int),
                "recency": t_x,
                "T": T,
            }
        )

    def sample_posterior_predictive(
        self, data: pd.DataFrame | None = None, random_seed: int | None = None
    ) -> xr.Dataset:
        """Replicate the calibration data: one simulated population per posterior draw.

        Each customer keeps their observation length ``T``; new latent traits are drawn
        from the population distribution at each parameter draw.

        Returns
        -------
        xarray.Dataset
            Variables ``frequency`` and ``recency`` with dims ``(chain, draw,
            customer_id)``.
        """
        frame = self._data_or_fit_data(data)
        rng = np.random.default_rng(random_seed)
        T = frame["T"].to_numpy(dtype=float)
        posterior = self.posterior
        params = self.layout.link(self.layout.draws(posterior), self._columns(frame))
        x, t_x = self._simulate(params, T, rng)
        lead = (posterior.sizes["chain"], posterior.sizes["draw"], len(frame))
        x, t_x = x.reshape(lead), t_x.reshape(lead)
        coords = {**self._draw_coords(), "customer_id": frame[self.id_column].to_numpy()}
        dims = ("chain", "draw", "customer_id")
        return xr.Dataset(
            {"frequency": (dims, x.astype(int)), "recency": (dims, t_x)}, coords=coords
        )


def _check_count(n: int) -> int:
    if not np.isfinite(n) or int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative whole number of purchases, got {n!r}.")
    return int(n)


def _check_horizon(t: ArrayLike) -> np.ndarray:
    """``t`` as floats; ValueError unless every value is finite and non-negative."""
    values = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(
            f"t must be a finite, non-negative horizon in the data's time unit, got {t!r}."
        )
    return values


def recency_of_last(
    n_events: np.ndarray, n_kept: np.ndarray, window: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Time of the ``n_kept``-th of ``n_events`` uniform events on ``[0, window]``.

    The k-th order statistic of N uniforms on [0, w] is ``w * Beta(k, N - k + 1)``; rows
    with ``n_kept == 0`` get 0. Shared by the simulators.
    """
    k = np.maximum(n_kept, 1)
    position = rng.beta(k, np.maximum(n_events - k, 0) + 1)
    return np.where(n_kept > 0, window * position, 0.0)
