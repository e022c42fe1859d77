"""``CLVModel``: what every clvlab model declares, and the interface they share.

A model module declares

* ``name`` (the registry key, e.g. ``"bg-nbd"``) and ``parameters``, a tuple of
  :class:`clvlab.models.params.Parameter` specs (support, dims, covariate link sign);
* ``data_columns``: the paper's symbols mapped to input-table columns (e.g.
  ``{"x": "frequency", "t_x": "recency", "T": "T"}``);
* the hooks ``_log_likelihood(data, params, xp)`` (per row, written once with array
  functions from ``xp``: numpy or pytensor.tensor, see :mod:`clvlab.models.xp`),
  ``_default_priors(data)``, ``_initial_params(data)`` and optionally ``_validate(frame)``
  (every table), ``_validate_for_fit(frame)`` (tables to fit) and
  ``_log_likelihood_gradient(data, params)``.

Everything else lives in one module per job: input checks (:mod:`~clvlab.models.data`),
compression (:mod:`~clvlab.models.compression`), parameter specs
(:mod:`~clvlab.models.params`), maximum likelihood (:mod:`~clvlab.models.mle`), the PyMC
model and its samplers (:mod:`~clvlab.models.bayes`), the fitting methods
(:mod:`~clvlab.models.fitting`), results and files (:mod:`~clvlab.models.results`) and the
registry (:mod:`~clvlab.models.registry`).

Naming: quantities estimated from the data end in ``_`` (``standard_errors_``,
``log_likelihood_``, ``mle_result_``); ``idata`` holds the results as in PyMC.

Priors are plain dictionaries naming a PyMC distribution and its arguments, e.g.
``{"r": {"dist": "HalfNormal", "sigma": 5.0}}``; any subset of the free parameters may be
given to the constructor and overrides the defaults (covariate coefficients default to
``Normal(0, 1)``: standardise the covariates).
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.models import fitting, registry
from clvlab.models.bayes import Settings, build_pymc_model, check_options, check_priors
from clvlab.models.compression import CompressedData, compress
from clvlab.models.data import DataSpec, validate_table
from clvlab.models.params import COVARIATE_PREFIX, Parameter, ParameterLayout
from clvlab.models.results import load_model, make_datatree, point_dataset, summary_table

__all__ = ["CLVModel"]

PriorSpec = Mapping[str, Any]
Data = Mapping[str, np.ndarray]
#: Default prior of a covariate coefficient.
COEFFICIENT_PRIOR = {"dist": "Normal", "mu": 0.0, "sigma": 1.0}


class CLVModel(ABC):
    """Base class of clvlab's Bayesian/likelihood models.

    Parameters
    ----------
    priors : mapping of str to dict, optional
        Prior overrides, ``{param: {"dist": <PyMC distribution name>, **arguments}}``.
    covariates : mapping of str to list of str, optional
        Covariate columns per parameter, e.g. ``{"alpha": ["age"]}``: the parameter then
        varies by customer through a link with coefficients ``gamma_alpha``
        (:mod:`clvlab.models.params`).
    weights : str, optional
        Column of row weights (an aggregated table: customers per row); ids may repeat.

    Attributes
    ----------
    idata : xarray.DataTree
        After ``fit``: see :mod:`clvlab.models.results`.
    method : str
        The fitting method used (``"fixed"`` for :meth:`from_params`).
    standard_errors_ : pandas.Series or None
        Delta-method standard errors (``method="mle"`` only).
    covariance_ : pandas.DataFrame or None
        Asymptotic covariance of the unconstrained estimates (``method="mle"`` only; see
        :mod:`clvlab.models.mle`).
    log_likelihood_ : float or None
        Log-likelihood at the point estimate (``"mle"`` and ``"map"``).
    mle_result_ : scipy.optimize.OptimizeResult or None
        The optimiser's result (``"mle"`` only).
    """

    #: Short name used by the command line, the registry and saved files, e.g. ``"bg-nbd"``.
    name: ClassVar[str]
    #: Parameter specs, named as in the paper.
    parameters: ClassVar[tuple[Parameter, ...]]
    #: Names of ``parameters`` (set from them).
    param_names: ClassVar[tuple[str, ...]]
    #: Maps the paper's symbols used in ``_log_likelihood`` to input-table columns.
    data_columns: ClassVar[dict[str, str]]
    #: Column that identifies a row of the input table.
    id_column: ClassVar[str] = "customer_id"
    #: Sampler used by ``fit(method="nuts")`` unless ``nuts_sampler`` is given.
    default_nuts_sampler: ClassVar[str] = "pymc"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "parameters" in cls.__dict__:
            cls.param_names = tuple(p.name for p in cls.parameters)
        if "name" in cls.__dict__:
            registry.register(cls)

    def __init__(
        self,
        priors: Mapping[str, PriorSpec] | None = None,
        *,
        covariates: Mapping[str, Sequence[str]] | None = None,
        weights: str | None = None,
    ) -> None:
        self.covariates = {
            k: [v] if isinstance(v, str) else list(v) for k, v in (covariates or {}).items()
        }
        self.weights = weights
        self.layout = ParameterLayout.build(self.parameters, self.covariates)
        self.data_spec = DataSpec(
            self.id_column,
            tuple(self.data_columns.values()),
            self.layout.covariate_columns,
            weights,
        )
        priors = check_priors(priors, self.layout.names, type(self).__name__)
        self.priors = priors
        self.idata: xr.DataTree | None = None
        self.method: str | None = None
        self.standard_errors_: pd.Series | None = None
        self.covariance_: pd.DataFrame | None = None
        self.log_likelihood_: float | None = None
        self.mle_result_: Any = None
        self._data: pd.DataFrame | None = None

    def __repr__(self) -> str:
        options = "".join(
            f", {k}={v!r}"
            for k, v in (("covariates", self.covariates), ("weights", self.weights))
            if v
        )
        fitted = f", fitted by {self.method}" if self.method else ""
        return f"{type(self).__name__}(priors={self.priors!r}{options}){fitted}"

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _log_likelihood(self, data: Mapping[str, Any], params: Mapping[str, Any], xp: Any) -> Any:
        """Per-row log-likelihood for ``data`` (dict of columns keyed by the paper's
        symbols) at ``params`` (row-level values); ``xp`` is numpy or pytensor.tensor."""

    @abstractmethod
    def _default_priors(self, data: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        """Default prior specs of ``parameters`` (may be scaled to the data)."""

    @abstractmethod
    def _initial_params(self, data: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Starting values of ``parameters`` for maximum likelihood."""

    def _validate(self, frame: pd.DataFrame) -> None:  # noqa: B027 - optional hook
        """Model-specific checks on the numeric input table; raise DataValidationError."""

    def _validate_for_fit(self, frame: pd.DataFrame) -> None:  # noqa: B027 - optional hook
        """Checks that only a table to fit must pass (e.g. it carries information)."""

    def _log_likelihood_gradient(
        self, data: Mapping[str, np.ndarray], params: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray] | None:
        """Optional hook: per-row derivatives of ``_log_likelihood`` (numpy) with respect
        to each row-level parameter. Speeds up ``method="mle"``; ``None``: finite
        differences."""
        return None

    # ------------------------------------------------------------- data
    def validate_data(self, data: pd.DataFrame, *, weighted: bool = True) -> pd.DataFrame:
        """Check an input table and return the columns read, as floats, indexed 0..n-1.

        ``weighted=False`` checks a table of customers (one per row, no weights column) for
        the predictions of a model fitted to a weighted table.

        Raises
        ------
        DataValidationError
            See :func:`clvlab.models.data.validate_table` and the model's own checks.
        """
        spec = self.data_spec if weighted else replace(self.data_spec, weights=None)
        frame = validate_table(data, spec, type(self).__name__)
        self._validate(frame)
        return frame

    def _columns(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Columns keyed by the paper's symbols, and covariates by ``covariate:<name>``."""
        columns = {sym: frame[col].to_numpy(dtype=float) for sym, col in self.data_columns.items()}
        for column in self.layout.covariate_columns:
            columns[COVARIATE_PREFIX + column] = frame[column].to_numpy(dtype=float)
        return columns

    def _compressed(self, frame: pd.DataFrame) -> CompressedData:
        weighted = self.weights is not None and self.weights in frame
        weights = frame[self.weights].to_numpy(dtype=float) if weighted else None
        return compress(self._columns(frame), weights)

    def _data_or_fit_data(self, data: pd.DataFrame | None) -> pd.DataFrame:
        if data is not None:
            # Predictions need no weights: a table without them holds one customer per row.
            return self.validate_data(data, weighted=self.weights in data.columns)
        if self._data is None:
            raise ValueError("pass `data`, or fit the model first.")
        return self._data

    def _initial_values(self, data: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Starting values of every free parameter (covariate coefficients at 0)."""
        start = self._initial_params(data)
        return {
            p.name: start[p.name] if p.name in start else np.zeros(self.layout.shape(p))
            for p in self.layout.parameters
        }

    # ------------------------------------------------------------- priors and PyMC
    def resolved_priors(self, data: pd.DataFrame) -> dict[str, dict[str, Any]]:
        """The priors used for ``data``: defaults overridden by the constructor's."""
        return self._resolve_priors(self.validate_data(data))

    def _resolve_priors(self, frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
        priors = {name: dict(COEFFICIENT_PRIOR) for name in self.layout.names}
        priors.update(self._default_priors(self._columns(frame)))
        priors.update({k: dict(v) for k, v in self.priors.items()})
        return priors

    def build_model(self, data: pd.DataFrame) -> Any:
        """Return the PyMC model for ``data`` (:func:`clvlab.models.bayes.build_pymc_model`)."""
        frame = self.validate_data(data)
        return build_pymc_model(self, self._compressed(frame), self._resolve_priors(frame))

    # ------------------------------------------------------------- likelihood
    def log_likelihood(
        self, data: pd.DataFrame | None = None, params: Mapping[str, Any] | None = None
    ) -> float:
        """Total log-likelihood of ``data`` (default: the fitted data) at ``params``
        (default: the point estimate, see :attr:`params`)."""
        frame = self._data_or_fit_data(data)
        params = self.params if params is None else params
        compressed = self._compressed(frame)
        values = {k: np.asarray(params[k], dtype=float) for k in self.layout.names}
        linked = self.layout.link(values, compressed.values)
        return float(compressed.weights @ self._log_likelihood(compressed.values, linked, np))

    # ------------------------------------------------------------- fitting
    def fit(
        self,
        data: pd.DataFrame,
        method: str = "nuts",
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int | None = None,
        nuts_sampler: str | None = None,
        target_accept: float = 0.8,
        progressbar: bool = False,
        store_log_likelihood: bool | None = None,
        **kwargs: Any,
    ) -> Self:
        """Fit the model to a per-customer table; the model changes only if the fit works.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per customer (or per weighted group) with ``customer_id``, the columns
            in ``data_columns`` and any covariate and weights columns.
        method : {"nuts", "map", "advi", "mle"}
            See :mod:`clvlab.models.fitting`.
        draws, tune, chains : int
            NUTS draws and tuning steps per chain, number of chains; for ``"advi"``,
            ``draws`` is the number of draws taken from the approximation.
        random_seed : int, optional
            Makes ``nuts``, ``advi`` and ``map`` reproducible.
        nuts_sampler : {"nutpie-pyfunc", "nutpie", "pymc"}, optional
            See :mod:`clvlab.models.bayes`; default: the class's ``default_nuts_sampler``.
        target_accept : float
            NUTS target acceptance rate; raise it (0.9-0.99) after divergences.
        progressbar : bool
            Show the sampler's progress bar (on stderr).
        store_log_likelihood : bool, optional
            For ``"nuts"`` and ``"advi"``, store each customer's log-likelihood at each draw
            in ``idata["log_likelihood"]`` (for :func:`arviz.loo`): draws x customers
            floats, e.g. 75 MB for CDNOW's 2,357 customers at 4 x 1,000 draws. Default
            (``None``): stored up to
            :data:`clvlab.models.fitting.MAX_POINTWISE_VALUES` values (1 GB), else
            skipped with a warning; ``True`` stores it whatever its size, ``False`` never.
        **kwargs
            Passed on: to :func:`nutpie.sample` or :func:`pymc.sample` (nuts),
            :func:`pymc.fit` (advi, e.g. ``n=30000``), :func:`pymc.find_MAP` (map) or as
            options to scipy's L-BFGS-B (mle, e.g. ``maxiter``).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Unknown ``method`` or ``nuts_sampler`` (before any work).
        TypeError
            A keyword the method does not accept (before any work).
        DataValidationError
            The data fail a check.
        """
        fitting.check_method(method)
        settings = Settings(
            draws,
            tune,
            chains,
            random_seed,
            nuts_sampler or self.default_nuts_sampler,
            target_accept,
            progressbar,
        )
        check_options(method, settings.nuts_sampler, kwargs)
        frame = self.validate_data(data)
        self._validate_for_fit(frame)
        fit = fitting.run(
            self,
            frame,
            method,
            settings,
            store_log_likelihood=store_log_likelihood,
            options=dict(kwargs),
        )
        idata = make_datatree(
            self,
            frame,
            fit.posterior,
            method=method,
            sample_stats=fit.sample_stats,
            log_likelihood=fit.pointwise,
            fit_info=dataclasses.asdict(settings),
            standard_errors=fit.standard_errors,
            covariance=fit.covariance,
            point_log_likelihood=fit.log_likelihood,
        )
        # All or nothing: the model changes only now that the fit has worked.
        self.idata, self.method, self._data = idata, method, frame
        self.standard_errors_, self.log_likelihood_ = fit.standard_errors, fit.log_likelihood
        self.covariance_, self.mle_result_ = fit.covariance, fit.mle_result
        if method == "nuts":
            from clvlab.diagnostics import check_convergence

            check_convergence(self.idata, warn=True, stacklevel=3)
        return self

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, Any],
        data: pd.DataFrame | None = None,
        priors: Mapping[str, PriorSpec] | None = None,
        *,
        covariates: Mapping[str, Sequence[str]] | None = None,
    ) -> Self:
        """A model with given parameter values (``method="fixed"``), e.g. published
        estimates, ready for predictions on ``data`` (or on tables passed later)."""
        model = cls(priors=priors, covariates=covariates)
        missing = [p for p in model.layout.names if p not in params]
        if missing:
            raise ValueError(
                f"params lacks {missing}; {cls.__name__} needs {list(model.layout.names)}."
            )
        for p in model.layout.parameters:
            if not p.support.contains(params[p.name]):
                raise ValueError(
                    f"{p.name} = {params[p.name]!r} is outside its support ({p.support.name})."
                )
        frame = None if data is None else model.validate_data(data)
        model._data, model.method = frame, "fixed"
        point = point_dataset(params, model.layout)
        model.idata = make_datatree(model, frame, point, method="fixed")
        return model

    # ------------------------------------------------------------- results
    def _check_fitted(self) -> xr.DataTree:
        if self.idata is None:
            raise ValueError(f"{type(self).__name__} is not fitted yet; call fit(data) first.")
        return self.idata

    @property
    def posterior(self) -> xr.Dataset:
        """Posterior draws (dims ``chain, draw``); one draw for ``"mle"``/``"map"``."""
        return self._check_fitted()["posterior"].to_dataset()

    @property
    def params(self) -> dict[str, Any]:
        """Point estimates: the MLE/MAP, or posterior means for ``"nuts"``/``"advi"``
        (floats; arrays for vector parameters such as covariate coefficients)."""
        posterior = self.posterior
        means = {name: posterior[name].mean(("chain", "draw")) for name in self.layout.names}
        return {k: float(v) if v.ndim == 0 else v.to_numpy() for k, v in means.items()}

    # ------------------------------------------------------------- predictions per draw
    #: Largest number of (draw, row) pairs evaluated at once; bounds memory for
    #: posteriors with many draws (lower it in models with big intermediate arrays).
    _chunk_size: ClassVar[int] = 250_000

    def _evaluate(
        self, compute: Callable[[Data, dict[str, np.ndarray]], np.ndarray], rows: Data
    ) -> np.ndarray:
        """``compute(rows, params)`` over all posterior draws, in chunks of draws.

        ``params`` arrive shaped ``(draws_in_chunk, 1)``; the result is reshaped to
        ``(chain, draw, ...)``.
        """
        posterior = self.posterior
        lead = (posterior.sizes["chain"], posterior.sizes["draw"])
        flat = self.layout.draws(posterior)
        n_draws = lead[0] * lead[1]
        step = max(1, self._chunk_size // max(len(next(iter(rows.values()))), 1))
        with np.errstate(all="ignore"):
            parts = [
                np.asarray(
                    compute(
                        rows, self.layout.link({k: v[i : i + step] for k, v in flat.items()}, rows)
                    ),
                    float,
                )
                for i in range(0, n_draws, step)
            ]
        values = np.concatenate(parts, axis=0)
        return values.reshape(*lead, *values.shape[1:])

    def _per_customer(
        self,
        data: pd.DataFrame | None,
        compute: Callable[[Data, dict[str, np.ndarray]], np.ndarray],
        name: str,
        attrs: Mapping[str, Any] | None = None,
    ) -> xr.DataArray:
        """Evaluate ``compute(rows, params)`` once per distinct customer history and
        return it as a DataArray with dims ``(chain, draw, customer_id)``."""
        frame = self._data_or_fit_data(data)
        compressed = self._compressed(frame)
        values = compressed.expand(self._evaluate(compute, compressed.values))
        return xr.DataArray(
            values,
            dims=("chain", "draw", "customer_id"),
            coords={**self._draw_coords(), "customer_id": frame[self.id_column].to_numpy()},
            name=name,
            attrs=dict(attrs or {}),
        )

    def _draw_coords(self) -> dict[str, np.ndarray]:
        posterior = self.posterior
        return {"chain": posterior["chain"].to_numpy(), "draw": posterior["draw"].to_numpy()}

    def summary(self, **kwargs: Any) -> pd.DataFrame:
        """Table of parameter estimates, one layout per method (see
        :mod:`clvlab.models.results`); ``kwargs`` go to :func:`arviz.summary`."""
        self._check_fitted()
        return summary_table(self, **kwargs)

    # ------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted model (posterior, fit data, priors, method) to NetCDF."""
        tree = self._check_fitted()
        path = Path(path)
        tree.to_netcdf(path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CLVModel:
        """Read a model written by :meth:`save`; ``CLVModel.load`` works for any model."""
        return load_model(path, cls)
