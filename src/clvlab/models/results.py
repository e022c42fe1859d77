"""Results of a fit: the DataTree, the summary table, the pointwise log-likelihood, files.

``model.idata`` is an :class:`xarray.DataTree` with groups

* ``posterior``: every free parameter, dims ``(chain, draw, *parameter dims)``; one chain
  and one draw for ``"mle"``, ``"map"`` and ``"fixed"``;
* ``sample_stats``: the sampler's statistics (``"nuts"`` only);
* ``log_likelihood``: variable ``log_likelihood``, dims ``(chain, draw, customer_id)``,
  the log-likelihood of each customer at each draw (``"nuts"`` and ``"advi"``, when
  rows are customers), so that :func:`arviz.loo` and :func:`arviz.compare` work;
* ``fit_data``: the validated input table, dim ``customer_id``;

and attributes ``clvlab_model`` (the registry name), ``method``, ``priors``,
``user_priors``, ``covariates``, ``weights``, ``fit_info``, ``standard_errors``,
``covariance`` (``{"labels": [...], "values": [[...]]}``: the asymptotic covariance of the
unconstrained maximum likelihood estimates, or ``null``) and ``log_likelihood`` (JSON
text).

:func:`normal_approximation` turns a maximum likelihood fit into a model whose posterior
holds draws from the normal (Laplace) approximation of the estimates
(:func:`clvlab.models.mle.normal_approximation_draws`), so that every prediction gets an
interval.

Summary layouts (:func:`summary_table`), one per method:

==========================  =============================================================
method                      columns
==========================  =============================================================
``"mle"``                   ``estimate``, ``se`` (delta-method standard error)
``"map"``, ``"fixed"``      ``estimate``
``"nuts"``                  :func:`arviz.summary`: ``mean``, ``sd``, ``eti89_lb``,
                            ``eti89_ub``, ``ess_bulk``, ``ess_tail``, ``r_hat``,
                            ``mcse_mean``, ``mcse_sd``
``"advi"``                  ``mean``, ``sd``, ``eti89_lb``, ``eti89_ub`` (independent
                            draws of an approximation: no ESS, r-hat or MCSE)
==========================  =============================================================
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:
    from clvlab.models.base import CLVModel
    from clvlab.models.params import ParameterLayout

__all__ = [
    "load_model",
    "make_datatree",
    "normal_approximation",
    "point_dataset",
    "pointwise_log_likelihood",
    "summary_table",
]

#: Largest number of (draw, distinct row) log-likelihood values computed at once.
CHUNK_SIZE = 250_000


def point_dataset(point: Mapping[str, Any], layout: ParameterLayout) -> xr.Dataset:
    """A one-chain, one-draw posterior holding a point estimate."""
    return xr.Dataset(
        {
            p.name: (
                ("chain", "draw", *p.dims),
                np.asarray(point[p.name], dtype=float).reshape(1, 1, *layout.shape(p)),
            )
            for p in layout.parameters
        }
    )


def _ids(frame: pd.DataFrame, id_column: str) -> np.ndarray:
    """Row ids as stored: numbers stay numbers, anything else becomes text."""
    ids = frame[id_column].to_numpy()
    return ids if np.issubdtype(ids.dtype, np.number) else ids.astype(str)


def make_datatree(
    model: CLVModel,
    frame: pd.DataFrame | None,
    posterior: xr.Dataset,
    *,
    method: str,
    sample_stats: xr.Dataset | None = None,
    log_likelihood: xr.DataArray | None = None,
    fit_info: Mapping[str, Any] | None = None,
    standard_errors: pd.Series | None = None,
    covariance: pd.DataFrame | None = None,
    point_log_likelihood: float | None = None,
) -> xr.DataTree:
    """Assemble ``model.idata`` (see the module documentation)."""
    layout = model.layout
    coords = {
        "chain": np.arange(posterior.sizes["chain"]),
        "draw": np.arange(posterior.sizes["draw"]),
        **{d: layout.coords[d] for p in layout.parameters for d in p.dims},
    }
    posterior = xr.Dataset(
        {
            p.name: (("chain", "draw", *p.dims), posterior[p.name].to_numpy().astype(float))
            for p in layout.parameters
        },
        coords=coords,
    )
    groups: dict[str, xr.Dataset] = {"posterior": posterior}
    if frame is not None:
        spec = model.data_spec
        groups["fit_data"] = xr.Dataset(
            {c: ("customer_id", frame[c].to_numpy()) for c in spec.all_columns[1:]},
            coords={"customer_id": _ids(frame, spec.id_column)},
        )
    if sample_stats is not None:
        groups["sample_stats"] = sample_stats
    if log_likelihood is not None:
        groups["log_likelihood"] = log_likelihood.to_dataset(name="log_likelihood")
    tree = xr.DataTree.from_dict(groups)
    tree.attrs = {
        "clvlab_model": model.name,
        "method": method,
        "priors": json.dumps(None if frame is None else model._resolve_priors(frame)),
        "user_priors": json.dumps(model.priors),
        "covariates": json.dumps(model.covariates),
        "weights": json.dumps(model.weights),
        "fit_info": json.dumps(dict(fit_info or {})),
        "standard_errors": json.dumps(
            None if standard_errors is None else standard_errors.to_dict()
        ),
        "covariance": json.dumps(
            None
            if covariance is None
            else {"labels": list(covariance.index), "values": covariance.to_numpy().tolist()}
        ),
        "log_likelihood": json.dumps(point_log_likelihood),
    }
    return tree


def pointwise_log_likelihood(
    model: CLVModel, frame: pd.DataFrame, posterior: xr.Dataset
) -> xr.DataArray:
    """Log-likelihood of every customer at every draw, dims ``(chain, draw, customer_id)``.

    Computed once per distinct row of the compressed data, ``CHUNK_SIZE`` values at a
    time, and expanded to the customers (the result holds draws x customers floats).
    """
    compressed = model._compressed(frame)
    draws = model.layout.draws(posterior)
    n_draws = next(iter(draws.values())).shape[0]
    step = max(1, CHUNK_SIZE // compressed.n_rows)
    parts = []
    with np.errstate(all="ignore"):
        for i in range(0, n_draws, step):
            chunk = {k: v[i : i + step] for k, v in draws.items()}
            params = model.layout.link(chunk, compressed.values)
            values = model._log_likelihood(compressed.values, params, np)
            shape = (min(step, n_draws - i), compressed.n_rows)
            parts.append(compressed.expand(np.broadcast_to(values, shape)))
    values = np.concatenate(parts, axis=0)
    return xr.DataArray(
        values.reshape(posterior.sizes["chain"], posterior.sizes["draw"], -1),
        dims=("chain", "draw", "customer_id"),
        coords={
            "chain": posterior["chain"].to_numpy(),
            "draw": posterior["draw"].to_numpy(),
            "customer_id": _ids(frame, model.data_spec.id_column),
        },
        name="log_likelihood",
    )


def summary_table(model: CLVModel, **kwargs: Any) -> pd.DataFrame:
    """The summary layout of the model's fitting method (module documentation)."""
    import arviz as az

    names = list(model.layout.names)
    if model.method in ("mle", "map", "fixed"):
        estimates = model.layout.flatten({n: model.posterior[n].to_numpy()[0, 0] for n in names})
        table = pd.DataFrame({"estimate": estimates}, index=model.layout.labels())
        if model.standard_errors_ is not None:
            table["se"] = model.standard_errors_
        table.index.name = "param"
        return table
    kind = "all" if model.method == "nuts" else "stats"
    return az.summary(model.idata, var_names=names, kind=kind, **kwargs)


def load_model(path: str | os.PathLike[str], cls: type[CLVModel]) -> CLVModel:
    """Read a model written by ``save``; its class comes from the registry.

    Raises
    ------
    ValueError
        If the file holds a model that is not a ``cls``.
    """
    from clvlab.models.registry import model_class

    tree = xr.open_datatree(path).load()
    tree.close()
    model_cls = model_class(tree.attrs.get("clvlab_model"))
    if not issubclass(model_cls, cls):
        raise ValueError(f"{path} holds a {model_cls.__name__} model, not a {cls.__name__}.")
    model = model_cls(
        priors=json.loads(tree.attrs["user_priors"]),
        covariates=json.loads(tree.attrs.get("covariates", "null")),
        weights=json.loads(tree.attrs.get("weights", "null")),
    )
    model.method = tree.attrs["method"]
    model.idata = tree
    se = json.loads(tree.attrs["standard_errors"])
    model.standard_errors_ = None if se is None else pd.Series(se, name="se")
    covariance = json.loads(tree.attrs.get("covariance", "null"))
    model.covariance_ = (
        None
        if covariance is None
        else pd.DataFrame(
            covariance["values"], index=covariance["labels"], columns=covariance["labels"]
        )
    )
    model.log_likelihood_ = json.loads(tree.attrs["log_likelihood"])
    if "fit_data" in tree:
        frame = tree["fit_data"].to_dataset().to_dataframe().reset_index()
        model._data = model.validate_data(frame)
    return model


def normal_approximation(
    model: CLVModel, n_draws: int = 1000, random_seed: int | np.random.Generator | None = None
) -> CLVModel:
    """A copy of a maximum likelihood fit whose posterior holds ``n_draws`` parameter sets
    from the normal approximation of the estimates (one chain).

    :math:`u \\sim N(\\hat u, \\Sigma)` on the unconstrained scale, transformed back
    (:func:`clvlab.models.mle.normal_approximation_draws`): the standard Laplace
    approximation, whose intervals agree with the delta method to first order. Every
    prediction of the copy (``expected_purchases``, ``expected_spend``, ...) then comes
    with draws, hence intervals; ``model`` itself is left unchanged.

    Raises
    ------
    ValueError
        If ``model`` has no covariance (not fitted by ``method="mle"``) or a covariance
        that is not finite (a singular Hessian).
    """
    from clvlab.models.mle import normal_approximation_draws

    if model.covariance_ is None:
        raise ValueError(
            f"{type(model).__name__} fitted by {model.method!r} has no covariance of its "
            "estimates; the normal approximation needs a fit by method='mle'."
        )
    point = {name: model.posterior[name].to_numpy()[0, 0] for name in model.layout.names}
    draws = normal_approximation_draws(model.layout, point, model.covariance_, n_draws, random_seed)
    posterior = xr.Dataset(
        {
            p.name: (("chain", "draw", *p.dims), draws[p.name][None])
            for p in model.layout.parameters
        },
        coords={
            "chain": [0],
            "draw": np.arange(n_draws),
            **{d: model.layout.coords[d] for p in model.layout.parameters for d in p.dims},
        },
    )
    approximation = copy.copy(model)
    approximation.idata = xr.DataTree.from_dict({"posterior": posterior})
    approximation.idata.attrs = {**model.idata.attrs, "approximation": "normal"}
    return approximation
