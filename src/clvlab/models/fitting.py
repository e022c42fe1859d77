"""The fitting methods, defined once: what each does and how it runs.

``"nuts"`` (default)
    Full posterior by the No-U-Turn sampler on the compressed data (samplers in
    :mod:`clvlab.models.bayes`); checked afterwards by
    :func:`clvlab.diagnostics.check_convergence`, which warns.
``"map"``
    Posterior mode by :func:`pymc.find_MAP`, from the MLE; stored as one draw.
``"advi"``
    Mean-field variational approximation (:func:`pymc.fit`), from the MLE; ``draws`` draws
    stored; warns when the approximation ran away.
``"mle"``
    Maximum likelihood (:mod:`clvlab.models.mle`); standard errors by the delta method,
    and the asymptotic covariance of the unconstrained estimates for the normal (Laplace)
    approximation (:func:`clvlab.models.results.normal_approximation`); warns when it did
    not converge or ran to the edge of the parameter space. One draw.

:func:`run` returns a :class:`Fit`; the model stores it only when the whole fit worked.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.models import bayes
from clvlab.models.mle import maximize_likelihood
from clvlab.models.results import point_dataset, pointwise_log_likelihood

if TYPE_CHECKING:
    from clvlab.models.base import CLVModel

__all__ = ["METHODS", "Fit", "run"]

#: The fitting methods, with a one-line description each (the command line shows them).
#: Largest pointwise log-likelihood (draws x customers values) stored by default: 1 GB.
MAX_POINTWISE_VALUES = 125_000_000

METHODS = {
    "mle": "maximum likelihood (fastest; standard errors by the delta method)",
    "map": "posterior mode",
    "nuts": "full posterior by NUTS",
    "advi": "mean-field variational approximation of the posterior",
}


@dataclass(frozen=True)
class Fit:
    """What a fitting method produced (stored on the model only on success)."""

    posterior: xr.Dataset
    sample_stats: xr.Dataset | None = None
    pointwise: xr.DataArray | None = None
    standard_errors: pd.Series | None = None
    covariance: pd.DataFrame | None = None
    log_likelihood: float | None = None
    mle_result: Any = None


def check_method(method: str) -> None:
    """Raise ValueError naming the methods if ``method`` is not one."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}.")


def _start(model: CLVModel, frame: pd.DataFrame) -> dict[str, Any] | None:
    """The MLE as a starting point for MAP and ADVI; ``None`` if it is not finite or ran to
    the edge of the parameter space (PyMC's own start is then better)."""
    fit = maximize_likelihood(model, model._compressed(frame), {}, uncertainty=False)
    inside = all(p.support.contains(fit.point[p.name]) for p in model.layout.parameters)
    return fit.point if inside and not fit.at_boundary else None


def run(
    model: CLVModel,
    frame: pd.DataFrame,
    method: str,
    settings: bayes.Settings,
    *,
    store_log_likelihood: bool | None,
    options: dict[str, Any],
) -> Fit:
    """Fit ``model`` to the validated ``frame`` by ``method`` (see the module docs)."""
    layout = model.layout
    if method == "mle":
        mle = maximize_likelihood(model, model._compressed(frame), options)
        return Fit(
            point_dataset(mle.point, layout),
            standard_errors=mle.standard_errors,
            covariance=mle.covariance,
            log_likelihood=mle.log_likelihood,
            mle_result=mle.result,
        )
    pymc_model = model.build_model(frame)
    sample_stats = None
    if method == "map":
        if "initvals" not in options:
            options["initvals"] = _start(model, frame)
        point = bayes.find_map(
            model, pymc_model, settings.random_seed, settings.progressbar, **options
        )
        bayes.warn_if_runaway(model, "MAP", point)
        loglik = model.log_likelihood(frame, {k: np.asarray(v) for k, v in point.items()})
        return Fit(point_dataset(point, layout), log_likelihood=loglik)
    if method == "advi":
        if "start" not in options:
            options["start"] = _start(model, frame)
        posterior = bayes.fit_advi(
            model,
            pymc_model,
            settings.draws,
            settings.random_seed,
            settings.progressbar,
            **options,
        )
    else:
        posterior, sample_stats = bayes.sample_nuts(model, pymc_model, settings, **options)
    pointwise = None
    if model.weights is None and _store_pointwise(store_log_likelihood, posterior, len(frame)):
        pointwise = pointwise_log_likelihood(model, frame, posterior)
    return Fit(posterior, sample_stats=sample_stats, pointwise=pointwise)


def _store_pointwise(store: bool | None, posterior: xr.Dataset, n_customers: int) -> bool:
    """Whether to store the pointwise log-likelihood: as asked, or by default while it
    holds at most :data:`MAX_POINTWISE_VALUES` values (a warning says when it does not)."""
    if store is not None:
        return store
    n_values = posterior.sizes["chain"] * posterior.sizes["draw"] * n_customers
    if n_values <= MAX_POINTWISE_VALUES:
        return True
    warnings.warn(
        f"the pointwise log-likelihood ({n_values:,} values, {8 * n_values / 1e9:.1f} GB "
        "for draws x customers) was not stored, so arviz.loo is not available for this "
        "fit; pass store_log_likelihood=True to store it anyway, or fit fewer draws",
        UserWarning,
        stacklevel=4,
    )
    return False
