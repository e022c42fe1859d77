"""The PyMC model of a clvlab model, and NUTS, MAP and ADVI on it.

:func:`build_pymc_model` turns the parameter specs, the priors and the compressed data
into a :class:`pymc.Model`: one prior per free parameter (with its dims), the covariate
links, and the log-likelihood as ``pm.Potential("log_likelihood", sum_k w_k l_k)`` written
once for numpy and PyTensor by the model. The fitting functions return the posterior as an
:class:`xarray.Dataset` with dims ``(chain, draw, *parameter dims)``.

Samplers for ``method="nuts"`` (:data:`NUTS_SAMPLERS`): ``"nutpie-pyfunc"`` (nutpie's
sampler on PyTensor's compiled density, :mod:`clvlab.models.sampling`), ``"nutpie"``
(nutpie through :func:`pymc.sample`, its own compilation) and ``"pymc"`` (PyMC's sampler,
dense mass matrix). :func:`check_options` rejects unknown samplers and keywords before any
work starts.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.optimize
import xarray as xr

from clvlab.errors import ConvergenceWarning
from clvlab.models.compression import CompressedData
from clvlab.models.mle import MLE_OPTIONS
from clvlab.models.sampling import NUTPIE_PYFUNC, compile_for_nutpie, sample_chains

if TYPE_CHECKING:
    from clvlab.models.base import CLVModel

__all__ = [
    "NUTS_SAMPLERS",
    "Settings",
    "build_pymc_model",
    "check_options",
    "check_priors",
    "find_map",
    "fit_advi",
    "sample_nuts",
]

#: Valid ``nuts_sampler`` values.
NUTS_SAMPLERS = (NUTPIE_PYFUNC, "nutpie", "pymc")


def build_pymc_model(
    model: CLVModel, compressed: CompressedData, priors: Mapping[str, Mapping[str, Any]]
) -> Any:
    """The PyMC model: priors from the specs, covariate links, the weighted likelihood."""
    import pymc as pm
    import pytensor.tensor as pt

    layout = model.layout
    with pm.Model(coords=layout.coords) as pymc_model:
        params = {}
        for parameter in layout.parameters:
            spec = dict(priors[parameter.name])
            dist = getattr(pm, spec.pop("dist"))
            if parameter.dims:
                spec["dims"] = parameter.dims
            params[parameter.name] = dist(parameter.name, **spec)
        linked = layout.link(params, compressed.values, pt)
        loglik = model._log_likelihood(compressed.values, linked, pt)
        pm.Potential("log_likelihood", pt.dot(compressed.weights, loglik))
    return pymc_model


def check_priors(
    priors: Mapping[str, Any] | None, names: Sequence[str], owner: str
) -> dict[str, dict[str, Any]]:
    """Prior overrides ``{name: {"dist": <PyMC distribution>, **arguments}}`` as dicts.

    Raises
    ------
    ValueError
        If a name is not one of ``names`` or a spec is not a dict with ``"dist"``.
    """
    priors = dict(priors or {})
    unknown = sorted(set(priors) - set(names))
    if unknown:
        raise ValueError(
            f"{owner} has no parameter(s) {unknown}; priors can be set for {list(names)}."
        )
    for name, spec in priors.items():
        if not isinstance(spec, Mapping) or "dist" not in spec:
            raise ValueError(
                f"prior for {name!r} must be a dict like "
                f'{{"dist": "HalfNormal", "sigma": 5.0}}, got {spec!r}.'
            )
    return {name: dict(spec) for name, spec in priors.items()}


# ----------------------------------------------------------------- options
def _names(fn: Any) -> set[str]:
    return {
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


#: nutpie.sample's arguments that :func:`clvlab.models.sampling.sample_chains` sets itself.
_SET_FOR_NUTPIE = {
    "compiled_model",
    "draws",
    "tune",
    "chains",
    "seed",
    "progress_bar",
    "progress_callback",
    "blocking",
    "return_raw_trace",
}


def _nutpie_settings_accept(options: Mapping[str, Any]) -> list[str]:
    """Names in ``options`` that nutpie's sampler settings do not have."""
    from nutpie import _lib  # the settings object nutpie.sample fills from its **kwargs

    unknown = []
    for name, value in options.items():
        try:
            _lib.PyNutsSettings.LowRank(0).update({name: value})
        except AttributeError:
            unknown.append(name)
        except (TypeError, ValueError):
            pass  # a known setting with a value nutpie will report itself
    return unknown


def check_options(method: str, nuts_sampler: str | None, options: Mapping[str, Any]) -> None:
    """Reject an unknown sampler or keyword before any work starts.

    Raises
    ------
    ValueError
        If ``nuts_sampler`` is not one of :data:`NUTS_SAMPLERS`.
    TypeError
        If a keyword is not accepted by the method (e.g. ``random_sed=3``); the message
        lists the valid ones.
    """
    import pymc as pm

    if method == "nuts" and nuts_sampler not in NUTS_SAMPLERS:
        raise ValueError(
            f"nuts_sampler must be one of {list(NUTS_SAMPLERS)}, got {nuts_sampler!r}."
        )
    fixed = {"draws", "tune", "chains", "random_seed", "progressbar", "model", "nuts_sampler"}
    if method == "mle":
        valid, unknown = set(MLE_OPTIONS), [k for k in options if k not in MLE_OPTIONS]
    elif method == "map":
        # find_MAP passes its other keywords to scipy.optimize.minimize.
        valid = _names(pm.find_MAP) - fixed - {"return_inferencedata"}
        valid |= _names(scipy.optimize.minimize) - {"fun", "x0", "args", "jac", "hess", "hessp"}
        unknown = [k for k in options if k not in valid]
    elif method == "advi":
        valid = _names(pm.fit) - fixed - {"method"} | {"obj_optimizer", "callbacks", "obj_n_mc"}
        unknown = [k for k in options if k not in valid]
    elif nuts_sampler == NUTPIE_PYFUNC:
        import nutpie

        valid = {"cores"} | (_names(nutpie.sample) - _SET_FOR_NUTPIE)
        unknown = _nutpie_settings_accept({k: v for k, v in options.items() if k not in valid})
    else:
        valid = _names(pm.sample) - fixed - {"compute_convergence_checks", "return_inferencedata"}
        valid |= _names(pm.NUTS.__init__) - {"self", "vars", "model"} | {"nuts"}
        unknown = [k for k in options if k not in valid]
    if unknown:
        sampler = f", nuts_sampler={nuts_sampler!r}" if method == "nuts" else ""
        raise TypeError(
            f"fit(method={method!r}{sampler}) got unexpected keyword argument(s) {unknown}; "
            "valid keywords are draws, tune, chains, random_seed, nuts_sampler, "
            f"target_accept, progressbar, store_log_likelihood and {sorted(valid)}."
        )


@dataclass(frozen=True)
class Settings:
    """The sampler settings ``fit`` takes by name (stored as ``fit_info``)."""

    draws: int
    tune: int
    chains: int
    random_seed: int | None
    nuts_sampler: str
    target_accept: float
    progressbar: bool


# ----------------------------------------------------------------- NUTS
def sample_nuts(
    model: CLVModel, pymc_model: Any, settings: Settings, **kwargs: Any
) -> tuple[xr.Dataset, xr.Dataset]:
    """NUTS draws of the model's free parameters, and the sampler statistics."""
    names = list(model.layout.names)
    draws, tune, chains = settings.draws, settings.tune, settings.chains
    random_seed, nuts_sampler = settings.random_seed, settings.nuts_sampler
    target_accept, progressbar = settings.target_accept, settings.progressbar
    if nuts_sampler == NUTPIE_PYFUNC:
        # nutpie's sampler on the density compiled (and cached) by PyTensor; chains in up
        # to `cores` forked processes, the same draws whatever `cores` is.
        compiled = compile_for_nutpie(pymc_model)
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
        return posterior[names], sample_stats
    import pymc as pm

    kwargs.setdefault("cores", min(chains, os.cpu_count() or 1))
    # Dense (pymc) or low-rank (nutpie) mass matrices absorb the strong posterior
    # correlations of these models (r with alpha, a with b): about 3 leapfrog steps per
    # draw instead of about 15 with a diagonal one.
    if nuts_sampler == "pymc":
        kwargs.setdefault("init", "jitter+adapt_full")
    else:
        kwargs["nuts"] = {"adaptation": "low_rank", **kwargs.get("nuts", {})}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "QuadPotentialFullAdapt is an experimental")
        idata = pm.sample(
            draws,
            tune=tune,
            chains=chains,
            model=pymc_model,
            random_seed=random_seed,
            nuts_sampler=nuts_sampler,
            target_accept=target_accept,
            progressbar=progressbar,
            compute_convergence_checks=False,
            **kwargs,
        )
    return idata["posterior"].to_dataset()[names], idata["sample_stats"].to_dataset()


# ----------------------------------------------------------------- MAP and ADVI
def find_map(
    model: CLVModel, pymc_model: Any, random_seed: int | None, progressbar: bool, **kwargs: Any
) -> dict[str, Any]:
    """The posterior mode by :func:`pymc.find_MAP` (``initvals`` in ``kwargs``)."""
    import pymc as pm

    kwargs.setdefault("jitter", False)
    result = pm.find_MAP(
        model=pymc_model,
        random_seed=random_seed,
        progressbar=progressbar,
        return_inferencedata=True,
        **kwargs,
    )
    posterior = result["posterior"].to_dataset()
    return {name: posterior[name].to_numpy()[0, 0] for name in model.layout.names}


def fit_advi(
    model: CLVModel,
    pymc_model: Any,
    draws: int,
    random_seed: int | None,
    progressbar: bool,
    **kwargs: Any,
) -> xr.Dataset:
    """Mean-field ADVI by :func:`pymc.fit` (``start`` in ``kwargs``); ``draws`` draws of it.

    Warns
    -----
    ConvergenceWarning
        If the objective ended non-finite, or the approximation's mean ran to the edge of a
        parameter's support (e.g. identical customers: no heterogeneity to estimate).
    """
    import pymc as pm

    kwargs.setdefault("n", 10_000)
    approx = pm.fit(
        method="advi", model=pymc_model, random_seed=random_seed, progressbar=progressbar, **kwargs
    )
    posterior = approx.sample(draws, random_seed=random_seed)["posterior"].to_dataset()
    posterior = posterior[list(model.layout.names)]
    means = {name: posterior[name].mean(("chain", "draw")).to_numpy() for name in posterior}
    history = np.asarray(approx.hist)
    failed = (
        "its objective ended non-finite" if history.size and not np.isfinite(history[-1]) else ""
    )
    warn_if_runaway(model, "ADVI", means, failed, stacklevel=6)
    return posterior


def warn_if_runaway(
    model: CLVModel, method: str, values: Mapping[str, Any], failed: str = "", stacklevel: int = 5
) -> None:
    """Warn (ConvergenceWarning) if ``values`` ran to the edge of the parameter space, or
    ``failed`` says why the method failed; ``stacklevel`` points at the user's ``fit``."""
    edge = model.layout.at_edge(values)
    if not (edge or failed):
        return
    reason = failed or (
        "the estimates of "
        + ", ".join(f"{label} = {value:.3g}" for label, value in edge.items())
        + " ran to the edge of the parameter range"
    )
    warnings.warn(
        f"{method} for {type(model).__name__} failed: {reason}; the result does not describe "
        "the data. Use method='nuts', tighter priors, or check that the data vary between "
        "customers.",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )
