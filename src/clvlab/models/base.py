"""Shared machinery of the clvlab models: priors, fitting, results, saving and loading.

A model is described by three things, everything else lives here:

* ``param_names``: the parameters, all positive, named as in the paper;
* ``data_columns``: which columns of the input table the likelihood needs, mapped to the
  paper's symbols (e.g. ``{"x": "frequency", "t_x": "recency", "T": "T"}``);
* ``_log_likelihood(data, params, xp)``: the per-row log-likelihood, written once with
  array functions from ``xp`` (:mod:`numpy` or :mod:`pytensor.tensor`; special functions
  via :func:`special`). The SAME code therefore gives the PyMC model (``xp=pytensor``,
  summed with weights into a :func:`pymc.Potential`) and the numpy objective maximised by
  scipy for ``method="mle"``.

Fitting methods
---------------
``"nuts"`` (default)
    Full posterior by the No-U-Turn sampler on the compressed data: nutpie's sampler on
    PyTensor's compiled density (``"nutpie-pyfunc"``), or :func:`pymc.sample` with nutpie
    (numba) or PyMC's sampler; a low-rank (nutpie) or dense (PyMC) mass matrix. Each
    model sets its ``default_nuts_sampler`` from timings. Convergence is checked afterwards by
    :func:`clvlab.diagnostics.check_convergence`, which warns.
``"map"``
    Posterior mode by :func:`pymc.find_MAP`; stored as one draw.
``"advi"``
    Mean-field variational approximation (:func:`pymc.fit`); ``draws`` draws stored.
``"mle"``
    Maximum likelihood with :func:`scipy.optimize.minimize` (L-BFGS-B on the logarithms of
    the parameters; analytic gradient where the model provides ``_log_likelihood_gradient``,
    else finite differences), then one Newton step; standard errors from the numerical
    Hessian by the delta method. Stored as one draw. MAP and ADVI start from the MLE.

Whatever the method, results live in ``model.idata``, an :class:`xarray.DataTree` with a
``posterior`` group of dims ``(chain, draw)``, so every prediction works the same way.

Priors
------
Priors are plain dictionaries naming a PyMC distribution and its arguments, e.g.
``{"r": {"dist": "HalfNormal", "sigma": 5.0}}``; any subset of ``param_names`` may be
given to the constructor and overrides the defaults. Plain dictionaries (rather than
PyMC objects) can be stored with a saved model and printed in a notebook.
"""

from __future__ import annotations

import json
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.special
import xarray as xr
from threadpoolctl import threadpool_limits

from clvlab.errors import DataValidationError
from clvlab.models.compression import CompressedData, compress
from clvlab.models.sampling import NUTPIE_PYFUNC, compile_for_nutpie, sample_chains

__all__ = ["CLVModel", "per_distinct", "special"]

METHODS = ("nuts", "map", "advi", "mle")
PriorSpec = Mapping[str, Any]


def special(xp: Any) -> SimpleNamespace:
    """Special functions for the array namespace ``xp`` (numpy or pytensor.tensor).

    Returns a namespace with ``gammaln``, ``betaln`` and ``log1pexp`` (``log(1 + e^x)``) so
    that likelihood code can be written once for both back ends.
    """
    if xp is np:
        return SimpleNamespace(
            gammaln=scipy.special.gammaln,
            betaln=_betaln,
            log1pexp=_log1pexp,
        )
    return SimpleNamespace(
        gammaln=xp.gammaln,
        betaln=lambda a, b: xp.gammaln(a) + xp.gammaln(b) - xp.gammaln(a + b),
        log1pexp=xp.log1pexp,
    )


def per_distinct(values: np.ndarray, fn: Any, xp: Any) -> Any:
    """``fn(values)`` evaluated once per distinct value of the data column ``values``.

    Terms such as ``gammaln(r + x)`` depend on a customer only through ``x``, which takes
    few distinct values (about 30 on CDNOW for 1,000 distinct rows): computing them per
    distinct value and gathering the results (``xp.take``) gives the same numbers at a
    fraction of the cost, for the value and for the gradient.
    """
    distinct, inverse = np.unique(np.asarray(values), return_inverse=True)
    return xp.take(fn(distinct), inverse.ravel(), axis=-1)


def _betaln(a: Any, b: Any) -> Any:
    """``log B(a, b)`` from three ``gammaln`` calls (twice as fast as scipy's betaln)."""
    gammaln = scipy.special.gammaln
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def _log1pexp(x: Any) -> Any:
    """``log(1 + exp(x))`` without overflow."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _describe_rows(ids: pd.Index | np.ndarray, limit: int = 5) -> str:
    """Return ``"customer_id 3, 17, 20 and 4 more"``-style text naming offending rows."""
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{shown}{more} ({len(ids)} row{'s' if len(ids) != 1 else ''})"


class CLVModel(ABC):
    """Base class of clvlab's Bayesian/likelihood models.

    Parameters
    ----------
    priors : mapping of str to dict, optional
        Prior overrides, ``{param: {"dist": <PyMC distribution name>, **arguments}}``.
        Parameters not named keep the defaults documented by the subclass.

    Attributes
    ----------
    idata : xarray.DataTree
        After ``fit``: groups ``posterior`` (dims ``chain, draw``), ``sample_stats`` (NUTS
        only) and ``fit_data`` (the validated input, dim ``customer_id``).
    method : str
        The fitting method used.
    standard_errors : pandas.Series or None
        Asymptotic standard errors (``method="mle"`` only).
    log_likelihood_ : float or None
        Log-likelihood at the point estimate (``"mle"`` and ``"map"``).
    """

    #: Short name used by the command line and in saved files, e.g. ``"bg-nbd"``.
    name: ClassVar[str]
    #: Parameter names, as in the paper; all parameters are positive.
    param_names: ClassVar[tuple[str, ...]]
    #: Maps the paper's symbols used in ``_log_likelihood`` to input-table columns.
    data_columns: ClassVar[dict[str, str]]
    #: Column that identifies a row of the input table.
    id_column: ClassVar[str] = "customer_id"
    #: Sampler used by ``fit(method="nuts")`` unless ``nuts_sampler`` is given.
    default_nuts_sampler: ClassVar[str] = "pymc"

    _registry: ClassVar[dict[str, type[CLVModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        CLVModel._registry[cls.__name__] = cls

    def __init__(self, priors: Mapping[str, PriorSpec] | None = None) -> None:
        priors = dict(priors or {})
        unknown = sorted(set(priors) - set(self.param_names))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no parameter(s) {unknown}; "
                f"priors can be set for {list(self.param_names)}."
            )
        for name, spec in priors.items():
            if not isinstance(spec, Mapping) or "dist" not in spec:
                raise ValueError(
                    f"prior for {name!r} must be a dict like "
                    f'{{"dist": "HalfNormal", "sigma": 5.0}}, got {spec!r}.'
                )
        self.priors = priors
        self.idata: xr.DataTree | None = None
        self.method: str | None = None
        self.standard_errors: pd.Series | None = None
        self.log_likelihood_: float | None = None
        self._data: pd.DataFrame | None = None

    def __repr__(self) -> str:
        fitted = f", fitted by {self.method}" if self.method else ""
        return f"{type(self).__name__}(priors={self.priors!r}){fitted}"

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _log_likelihood(self, data: Mapping[str, Any], params: Mapping[str, Any], xp: Any) -> Any:
        """Per-row log-likelihood for ``data`` (dict of columns keyed by the paper's
        symbols) at ``params``; ``xp`` is numpy or pytensor.tensor."""

    @abstractmethod
    def _default_priors(self, data: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        """Default prior specs (may be scaled to the data, e.g. to its time unit)."""

    @abstractmethod
    def _initial_params(self, data: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Starting values for maximum likelihood."""

    def _validate(self, frame: pd.DataFrame) -> None:  # noqa: B027 - optional hook
        """Model-specific checks on the numeric input table; raise DataValidationError."""

    # ------------------------------------------------------------- data
    def validate_data(self, data: pd.DataFrame) -> pd.DataFrame:
        """Check an input table and return its needed columns as floats, indexed 0..n-1.

        Raises
        ------
        DataValidationError
            If a column is missing, a value is missing, non-numeric or negative,
            customer ids repeat, or a model-specific check fails; the message names the
            column, the offending rows and the fix.
        """
        if not isinstance(data, pd.DataFrame):
            raise DataValidationError(
                f"{type(self).__name__} expects a pandas DataFrame with columns "
                f"{[self.id_column, *self.data_columns.values()]}, got {type(data).__name__}."
            )
        needed = [self.id_column, *self.data_columns.values()]
        missing = [c for c in needed if c not in data.columns]
        if missing:
            raise DataValidationError(
                f"column(s) {missing} missing from the input table (it has "
                f"{list(data.columns)}); pass a per-customer summary such as the output of "
                "clvlab.rfm.summarize, or rename your columns."
            )
        if len(data) == 0:
            raise DataValidationError("the input table has no rows; nothing to fit.")
        frame = data[needed].reset_index(drop=True)
        ids = frame[self.id_column]
        duplicated = ids[ids.duplicated()]
        if len(duplicated):
            raise DataValidationError(
                f"column {self.id_column!r} repeats customer_id {_describe_rows(duplicated)}; "
                "the model needs one summary row per customer (summarise the transaction "
                "log with clvlab.rfm.summarize)."
            )
        for column in self.data_columns.values():
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = values.isna()
            if bad.any():
                raise DataValidationError(
                    f"column {column!r} has missing or non-numeric values for customer_id "
                    f"{_describe_rows(ids[bad])}; drop or fill these rows."
                )
            negative = values < 0
            if negative.any():
                raise DataValidationError(
                    f"column {column!r} is negative for customer_id "
                    f"{_describe_rows(ids[negative])}; counts and durations must be >= 0."
                )
            frame[column] = values.astype(float)
        self._validate(frame)
        return frame

    def _columns(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Columns of a validated table keyed by the paper's symbols."""
        return {sym: frame[col].to_numpy(dtype=float) for sym, col in self.data_columns.items()}

    def _compressed(self, frame: pd.DataFrame) -> CompressedData:
        return compress(self._columns(frame))

    def _data_or_fit_data(self, data: pd.DataFrame | None) -> pd.DataFrame:
        if data is not None:
            return self.validate_data(data)
        if self._data is None:
            raise ValueError("pass `data`, or fit the model first.")
        return self._data

    # ------------------------------------------------------------- priors and PyMC
    def resolved_priors(self, data: pd.DataFrame) -> dict[str, dict[str, Any]]:
        """The priors used for ``data``: defaults overridden by the constructor's."""
        return self._resolve_priors(self.validate_data(data))

    def _resolve_priors(self, frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
        priors = self._default_priors(self._columns(frame))
        priors.update({k: dict(v) for k, v in self.priors.items()})
        return priors

    def build_model(self, data: pd.DataFrame) -> Any:
        """Return the PyMC model for ``data`` (a per-customer table).

        Identical rows are compressed (:func:`clvlab.models.compression.compress`) and the
        log-likelihood enters as ``pm.Potential("log_likelihood", sum_k w_k * l_k)``.
        """
        import pymc as pm
        import pytensor.tensor as pt

        frame = self.validate_data(data)
        compressed = self._compressed(frame)
        priors = self._resolve_priors(frame)
        with pm.Model() as model:
            params = {}
            for name in self.param_names:
                spec = dict(priors[name])
                dist = getattr(pm, spec.pop("dist"))
                params[name] = dist(name, **spec)
            loglik = self._log_likelihood(compressed.values, params, pt)
            pm.Potential("log_likelihood", pt.dot(compressed.weights, loglik))
        return model

    # ------------------------------------------------------------- likelihood
    def log_likelihood(
        self, data: pd.DataFrame | None = None, params: Mapping[str, float] | None = None
    ) -> float:
        """Total log-likelihood of ``data`` (default: the fitted data) at ``params``
        (default: the point estimate, see :attr:`params`)."""
        frame = self._data_or_fit_data(data)
        params = self.params if params is None else params
        compressed = self._compressed(frame)
        values = {k: np.asarray(params[k], dtype=float) for k in self.param_names}
        return float(compressed.weights @ self._log_likelihood(compressed.values, values, np))

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
        **kwargs: Any,
    ) -> Self:
        """Fit the model to a per-customer table.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per customer with ``customer_id`` and the columns in ``data_columns``.
        method : {"nuts", "map", "advi", "mle"}
            See the module documentation.
        draws, tune, chains : int
            NUTS draws and tuning steps per chain, number of chains; for ``"advi"``,
            ``draws`` is the number of draws taken from the approximation.
        random_seed : int, optional
            Makes ``nuts``, ``advi`` and ``map`` reproducible.
        nuts_sampler : {"nutpie-pyfunc", "nutpie", "pymc"}, optional
            ``"nutpie-pyfunc"``: nutpie's Rust sampler calling the PyMC model's density as
            compiled (and cached) by PyTensor (:mod:`clvlab.models.sampling`; ``kwargs`` go
            to :func:`nutpie.sample`); ``"nutpie"``: the same sampler through
            :func:`pymc.sample` (nutpie's own, uncached compilation); ``"pymc"``: PyMC's own
            sampler.
            Defaults to the class's ``default_nuts_sampler`` (chosen from timings).
        target_accept : float
            NUTS target acceptance rate; raise it (0.9-0.99) after divergences.
        progressbar : bool
            Show PyMC's progress bar (on stderr).
        **kwargs
            Passed on: to :func:`pymc.sample` (nuts), :func:`pymc.fit` (advi, e.g.
            ``n=30000`` iterations), :func:`pymc.find_MAP` (map) or as ``options`` to
            :func:`scipy.optimize.minimize` (mle, e.g. ``maxiter``).

        Returns
        -------
        self
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
        frame = self.validate_data(data)
        self._data = frame
        self.standard_errors = None
        self.log_likelihood_ = None
        sample_stats = None
        if method == "mle":
            posterior = self._fit_mle(frame, options=kwargs)
        elif method == "nuts":
            posterior, sample_stats = self._fit_nuts(
                frame,
                draws=draws,
                tune=tune,
                chains=chains,
                random_seed=random_seed,
                nuts_sampler=nuts_sampler or self.default_nuts_sampler,
                target_accept=target_accept,
                progressbar=progressbar,
                **kwargs,
            )
        elif method == "map":
            posterior = self._fit_map(frame, random_seed, progressbar, **kwargs)
        else:
            posterior = self._fit_advi(frame, draws, random_seed, progressbar, **kwargs)
        self.method = method
        fit_info = {
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "random_seed": random_seed,
            "nuts_sampler": nuts_sampler or self.default_nuts_sampler,
            "target_accept": target_accept,
        }
        self.idata = self._make_datatree(frame, posterior, sample_stats, fit_info)
        if method == "nuts":
            from clvlab.diagnostics import check_convergence

            check_convergence(self.idata, warn=True, stacklevel=3)
        return self

    def _log_likelihood_gradient(
        self, data: Mapping[str, np.ndarray], params: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray] | None:
        """Optional hook: per-row derivatives of ``_log_likelihood`` (numpy) with respect
        to each parameter. Speeds up ``method="mle"``; ``None`` means finite differences."""
        return None

    def _mle_objective(self, compressed: CompressedData):
        """Return ``(f, grad)``: the negative log-likelihood of the log-parameters and its
        analytic gradient, or ``grad=None`` if the model has no analytic gradient."""
        names = self.param_names
        data, weights = compressed.values, compressed.weights

        def objective(log_theta: np.ndarray) -> float:
            params = dict(zip(names, np.exp(log_theta), strict=True))
            with np.errstate(all="ignore"):
                value = -float(weights @ self._log_likelihood(data, params, np))
            return value if np.isfinite(value) else np.inf

        probe = {name: np.ones(1) for name in names}
        if self._log_likelihood_gradient({k: v[:1] for k, v in data.items()}, probe) is None:
            return objective, None

        def gradient(log_theta: np.ndarray) -> np.ndarray:
            theta = np.exp(log_theta)
            params = dict(zip(names, theta, strict=True))
            with np.errstate(all="ignore"):
                per_row = self._log_likelihood_gradient(data, params)
            # Chain rule for the log scale: d/d(log theta) = theta * d/d(theta).
            grad = -theta * np.array([weights @ per_row[name] for name in names])
            return np.where(np.isfinite(grad), grad, 0.0)

        return objective, gradient

    def _maximize_likelihood(
        self, frame: pd.DataFrame, options: Mapping[str, Any], *, uncertainty: bool = True
    ) -> SimpleNamespace:
        """Maximum likelihood on the log-parameters.

        Returns a namespace with ``point`` (dict), ``se`` (array or None), ``loglik`` and
        the scipy ``result``; ``uncertainty=False`` skips the Hessian (and the Newton
        polish that reuses it).
        """
        compressed = self._compressed(frame)
        objective, gradient = self._mle_objective(compressed)
        start = self._initial_params(compressed.values)
        x0 = np.log([start[name] for name in self.param_names])
        # Without an analytic gradient scipy uses forward differences (cheapest), whose
        # noise rules out tight tolerances; the Newton step below then polishes.
        tolerances = {"ftol": 1e-13, "gtol": 1e-7} if gradient is not None else {}
        result = scipy.optimize.minimize(
            objective,
            x0,
            jac=gradient,
            method="L-BFGS-B",
            options={"maxiter": 1000, **tolerances, **options},
        )
        log_theta, se = result.x, None
        if uncertainty:
            if gradient is None:
                hessian = _numerical_hessian(objective, log_theta)
                grad = _numerical_gradient(objective, log_theta)
            else:
                hessian = _hessian_from_gradient(gradient, log_theta)
                grad = gradient(log_theta)
            # One Newton step with the Hessian (needed anyway for the standard errors)
            # makes the optimum precise even when L-BFGS-B stopped early.
            with np.errstate(all="ignore"):
                step = np.linalg.lstsq(hessian, grad, rcond=None)[0]
            if np.all(np.isfinite(step)) and objective(log_theta - step) <= objective(log_theta):
                log_theta = log_theta - step
            with np.errstate(all="ignore"):
                try:
                    # Delta method: cov(theta) = diag(theta) cov(log theta) diag(theta).
                    se = np.exp(log_theta) * np.sqrt(np.diag(np.linalg.inv(hessian)))
                except np.linalg.LinAlgError:
                    se = np.full(log_theta.shape, np.nan)
        point = dict(zip(self.param_names, np.exp(log_theta).tolist(), strict=True))
        return SimpleNamespace(point=point, se=se, loglik=-objective(log_theta), result=result)

    def _fit_mle(self, frame: pd.DataFrame, options: Mapping[str, Any]) -> xr.Dataset:
        # Multithreaded BLAS on L-BFGS-B's tiny matrices costs ~3 ms per iteration on a
        # busy machine (threads spin), ten times the whole likelihood evaluation.
        with threadpool_limits(1, user_api="blas"):
            fit = self._maximize_likelihood(frame, options)
        self.mle_result_ = fit.result
        self.standard_errors = pd.Series(fit.se, index=list(self.param_names), name="se")
        self.log_likelihood_ = fit.loglik
        return _point_dataset(fit.point)

    def _mle_start(self, frame: pd.DataFrame) -> dict[str, float] | None:
        """Maximum likelihood estimates as a starting point for MAP and ADVI (cheap, in
        numpy); ``None`` if they are not finite."""
        with threadpool_limits(1, user_api="blas"):
            point = self._maximize_likelihood(frame, {}, uncertainty=False).point
        return point if all(np.isfinite(v) and v > 0 for v in point.values()) else None

    def _fit_nuts(
        self, frame: pd.DataFrame, *, draws: int, tune: int, chains: int, **kwargs: Any
    ) -> tuple[xr.Dataset, xr.Dataset]:
        if kwargs["nuts_sampler"] == NUTPIE_PYFUNC:
            return self._fit_nutpie_pyfunc(frame, draws=draws, tune=tune, chains=chains, **kwargs)
        import pymc as pm

        kwargs.setdefault("cores", min(chains, os.cpu_count() or 1))
        # Dense (pymc) or low-rank (nutpie) mass matrices absorb the strong posterior
        # correlations of these models (r with alpha, a with b): about 3 leapfrog steps
        # per draw instead of about 15 with a diagonal one.
        if kwargs["nuts_sampler"] == "pymc":
            kwargs.setdefault("init", "jitter+adapt_full")
        elif kwargs["nuts_sampler"] == "nutpie":
            kwargs["nuts"] = {"adaptation": "low_rank", **kwargs.get("nuts", {})}
        model = self.build_model(frame)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "QuadPotentialFullAdapt is an experimental")
            idata = pm.sample(
                draws,
                tune=tune,
                chains=chains,
                model=model,
                compute_convergence_checks=False,
                **kwargs,
            )
        posterior = idata["posterior"].to_dataset()[list(self.param_names)]
        return posterior, idata["sample_stats"].to_dataset()

    def _fit_nutpie_pyfunc(
        self,
        frame: pd.DataFrame,
        *,
        draws: int,
        tune: int,
        chains: int,
        random_seed: int | None,
        target_accept: float,
        progressbar: bool,
        nuts_sampler: str,
        **kwargs: Any,
    ) -> tuple[xr.Dataset, xr.Dataset]:
        """NUTS by nutpie's sampler on PyMC's density compiled by PyTensor.

        Same model as the other samplers (:meth:`build_model`): the log-density and its
        gradient are one compiled PyTensor function of the unconstrained parameters
        (cached in ``~/.pytensor``), handed to nutpie as a Python callable; nutpie adapts a
        low-rank mass matrix, as with ``"nutpie"``. The chains run in up to ``cores``
        forked processes (default: one per chain, at most one per CPU), with the same draws
        whatever ``cores`` is (:func:`sample_chains`).
        """
        compiled = compile_for_nutpie(self.build_model(frame))
        cores = kwargs.pop("cores", min(chains, os.cpu_count() or 1))
        kwargs.setdefault("adaptation", "low_rank")
        if random_seed is None:
            random_seed = int(np.random.default_rng().integers(2**63))
        posterior, sample_stats = sample_chains(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=random_seed,
            cores=cores,
            progressbar=progressbar,
            target_accept=target_accept,
            **kwargs,
        )
        return posterior[list(self.param_names)], sample_stats

    def _fit_map(
        self, frame: pd.DataFrame, random_seed: int | None, progressbar: bool, **kwargs: Any
    ) -> xr.Dataset:
        import pymc as pm

        model = self.build_model(frame)
        kwargs.setdefault("jitter", False)
        if "initvals" not in kwargs:
            kwargs["initvals"] = self._mle_start(frame)
        result = pm.find_MAP(
            model=model,
            random_seed=random_seed,
            progressbar=progressbar,
            return_inferencedata=True,
            **kwargs,
        )
        posterior = result["posterior"].to_dataset()[list(self.param_names)]
        point = {name: float(posterior[name].item()) for name in self.param_names}
        self.log_likelihood_ = self.log_likelihood(frame, point)
        return _point_dataset(point)

    def _fit_advi(
        self,
        frame: pd.DataFrame,
        draws: int,
        random_seed: int | None,
        progressbar: bool,
        **kwargs: Any,
    ) -> xr.Dataset:
        import pymc as pm

        model = self.build_model(frame)
        kwargs.setdefault("n", 10_000)
        if "start" not in kwargs:
            kwargs["start"] = self._mle_start(frame)
        approx = pm.fit(
            method="advi", model=model, random_seed=random_seed, progressbar=progressbar, **kwargs
        )
        sample = approx.sample(draws, random_seed=random_seed)
        return sample["posterior"].to_dataset()[list(self.param_names)]

    def _make_datatree(
        self,
        frame: pd.DataFrame | None,
        posterior: xr.Dataset,
        sample_stats: xr.Dataset | None,
        fit_info: Mapping[str, Any],
    ) -> xr.DataTree:
        posterior = xr.Dataset(
            {name: posterior[name].astype(float) for name in self.param_names},
            coords={
                "chain": np.arange(posterior.sizes["chain"]),
                "draw": np.arange(posterior.sizes["draw"]),
            },
        )
        groups: dict[str, xr.Dataset] = {"posterior": posterior}
        if frame is not None:
            ids = frame[self.id_column].to_numpy()
            if not np.issubdtype(ids.dtype, np.number):
                ids = ids.astype(str)
            groups["fit_data"] = xr.Dataset(
                {c: ("customer_id", frame[c].to_numpy()) for c in self.data_columns.values()},
                coords={"customer_id": ids},
            )
        if sample_stats is not None:
            groups["sample_stats"] = sample_stats
        tree = xr.DataTree.from_dict(groups)
        tree.attrs = {
            "clvlab_model": type(self).__name__,
            "method": self.method or "",
            "priors": json.dumps(None if frame is None else self._resolve_priors(frame)),
            "user_priors": json.dumps(self.priors),
            "fit_info": json.dumps(dict(fit_info)),
            "standard_errors": json.dumps(
                None if self.standard_errors is None else self.standard_errors.to_dict()
            ),
            "log_likelihood": json.dumps(self.log_likelihood_),
        }
        return tree

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, float],
        data: pd.DataFrame | None = None,
        priors: Mapping[str, PriorSpec] | None = None,
    ) -> Self:
        """A model with given parameter values (``method="fixed"``), e.g. published
        estimates, ready for predictions on ``data`` (or on tables passed later)."""
        missing = [p for p in cls.param_names if p not in params]
        if missing:
            raise ValueError(f"params lacks {missing}; {cls.__name__} needs {cls.param_names}.")
        model = cls(priors=priors)
        frame = None if data is None else model.validate_data(data)
        model._data = frame
        model.method = "fixed"
        point = {name: float(params[name]) for name in cls.param_names}
        model.idata = model._make_datatree(frame, _point_dataset(point), None, {})
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
    def params(self) -> dict[str, float]:
        """Point estimates: the MLE/MAP, or posterior means for ``"nuts"``/``"advi"``."""
        posterior = self.posterior
        return {name: float(posterior[name].mean()) for name in self.param_names}

    def _param_draws(self) -> dict[str, np.ndarray]:
        """Parameter draws shaped ``(chain, draw, 1)`` to broadcast against customers."""
        posterior = self.posterior
        return {name: posterior[name].to_numpy()[..., None] for name in self.param_names}

    def summary(self, **kwargs: Any) -> pd.DataFrame:
        """Table of parameter estimates.

        For ``"mle"``: columns ``estimate`` and ``se`` (asymptotic standard error). For
        ``"map"``: ``estimate``. For ``"nuts"`` and ``"advi"``: :func:`arviz.summary`
        (``mean``, ``sd``, interval, ESS, r-hat), ``kwargs`` passed on.
        """
        self._check_fitted()
        if self.method in ("mle", "map"):
            table = pd.DataFrame({"estimate": pd.Series(self.params)})
            if self.standard_errors is not None:
                table["se"] = self.standard_errors
            table.index.name = "param"
            return table
        import arviz as az

        return az.summary(self.idata, var_names=list(self.param_names), **kwargs)

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
        tree = xr.open_datatree(path).load()
        tree.close()
        class_name = tree.attrs.get("clvlab_model")
        model_cls = CLVModel._registry.get(class_name)
        if model_cls is None or not issubclass(model_cls, cls):
            raise ValueError(f"{path} holds a {class_name} model, not a {cls.__name__}.")
        model = model_cls(priors=json.loads(tree.attrs["user_priors"]))
        model.method = tree.attrs["method"]
        model.idata = tree
        se = json.loads(tree.attrs["standard_errors"])
        model.standard_errors = None if se is None else pd.Series(se, name="se")
        model.log_likelihood_ = json.loads(tree.attrs["log_likelihood"])
        if "fit_data" in tree:
            frame = tree["fit_data"].to_dataset().to_dataframe().reset_index()
            model._data = model.validate_data(frame)
        return model


def _point_dataset(point: Mapping[str, float]) -> xr.Dataset:
    """A one-chain, one-draw posterior holding a point estimate."""
    return xr.Dataset(
        {name: (("chain", "draw"), np.full((1, 1), float(v))) for name, v in point.items()}
    )


def _numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``f`` at ``x``."""
    grad = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def _numerical_hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x`` from function values."""
    n = x.size
    step = np.eye(n) * h
    f0 = f(x)
    hessian = np.empty((n, n))
    for i in range(n):
        hessian[i, i] = (f(x + step[i]) - 2 * f0 + f(x - step[i])) / h**2
        for j in range(i + 1, n):
            hessian[i, j] = hessian[j, i] = (
                f(x + step[i] + step[j])
                - f(x + step[i] - step[j])
                - f(x - step[i] + step[j])
                + f(x - step[i] - step[j])
            ) / (4 * h**2)
    return hessian


def _hessian_from_gradient(gradient, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of ``gradient`` at ``x``, symmetrised."""
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        columns.append((gradient(x + e) - gradient(x - e)) / (2 * h))
    hessian = np.column_stack(columns)
    return (hessian + hessian.T) / 2
