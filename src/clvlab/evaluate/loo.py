"""PSIS-LOO: leave-one-customer-out predictive accuracy of posterior fits, through ArviZ.

For a posterior fit (``method="nuts"`` or ``"advi"``) the model stores the log-likelihood
of each customer at each draw (``model.idata["log_likelihood"]``). Pareto-smoothed
importance sampling (Vehtari, Gelman & Gabry 2017) turns it into

.. math::

    \\widehat{\\mathrm{elpd}}_{\\mathrm{loo}} = \\sum_i \\log p(y_i \\mid y_{-i}),

the expected log predictive density of a customer left out of the fit: the calibration
data judged as if unseen, without a holdout period. Its standard error is
:math:`\\sqrt{n}\\,\\mathrm{sd}_i`, and differences between models fitted to the *same*
customers carry their own (smaller) standard error ``dse``.

The estimate of each customer's term is reliable when the Pareto shape :math:`\\hat k` of
its importance weights is small; ArviZ's threshold ``good_k`` is
:math:`\\min(1 - 1/\\log_{10} S, 0.7)` for :math:`S` draws. Customers above it are
counted in the table and named in a warning: their terms, and so the total, are not to
be trusted (refit without them, or use more draws).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from clvlab.models.base import CLVModel

__all__ = ["loo", "loo_table"]


def loo(model: CLVModel, label: str | None = None) -> Any:
    """PSIS-LOO of one posterior fit (:func:`arviz.loo` on its pointwise log-likelihood).

    Parameters
    ----------
    model : CLVModel
        Fitted by ``"nuts"`` or ``"advi"`` with the pointwise log-likelihood stored.
    label : str, optional
        Name of the model in the warning (default: its class name).

    Returns
    -------
    arviz.ELPDData
        ``elpd``, ``se``, ``p`` (effective number of parameters), ``pareto_k`` (per
        customer), ``good_k`` and ``elpd_i``.

    Warns
    -----
    UserWarning
        Naming the customers whose Pareto :math:`\\hat k` exceeds ``good_k``.

    Raises
    ------
    ValueError
        If the model holds no pointwise log-likelihood (a point fit, or a fit with
        ``store_log_likelihood=False``).
    """
    label = label or type(model).__name__
    idata = model._check_fitted()
    if "log_likelihood" not in idata:
        raise ValueError(
            f"{label} (fitted by {model.method}) stores no pointwise log-likelihood; PSIS-LOO "
            "needs a posterior fit: fit(data, method='nuts', store_log_likelihood=True)."
        )
    with warnings.catch_warnings():
        # ArviZ's own warning names no model: the one below says which and who.
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        result = _loo_of_distinct_customers(idata)
    k = result.pareto_k
    high = np.asarray(k > result.good_k)
    if high.any():
        ids = k["customer_id"].to_numpy()[high]
        shown = ", ".join(map(str, ids[:5])) + (", ..." if ids.size > 5 else "")
        warnings.warn(
            f"PSIS-LOO of {label}: {ids.size} customer(s) have Pareto k above "
            f"{float(result.good_k):.2f} (customer_id {shown}); their leave-one-out terms are "
            "unreliable, so is the total: use more draws or check these customers.",
            UserWarning,
            stacklevel=2,
        )
    return result


def _loo_of_distinct_customers(idata: Any) -> Any:
    """:func:`arviz.loo` once per distinct log-likelihood column, expanded to customers.

    Customers with the same summary (on CDNOW 2,357 customers, about 1,000 distinct
    histories) have identical log-likelihood columns and therefore identical PSIS
    results, so PSIS runs once per distinct column; the totals are then recomputed over
    all customers as ArviZ does: :math:`\\mathrm{elpd} = \\sum_i \\mathrm{elpd}_i`,
    :math:`\\mathrm{se} = \\sqrt{n \\operatorname{var}(\\mathrm{elpd}_i)}` (sample variance),
    :math:`p = \\mathrm{lppd} - \\mathrm{elpd}` with :math:`\\mathrm{lppd} = \\sum_i \\log
    \\frac1S \\sum_s p(y_i \\mid \\theta_s)`.
    """
    import arviz as az
    import xarray as xr

    values = idata["log_likelihood"]["log_likelihood"]
    lead = values.sizes["chain"] * values.sizes["draw"]
    flat = values.transpose("chain", "draw", "customer_id").to_numpy().reshape(lead, -1)
    _, first, inverse = np.unique(flat, axis=1, return_index=True, return_inverse=True)
    distinct = xr.DataTree.from_dict(
        {
            "posterior": idata["posterior"].to_dataset(),
            "log_likelihood": values.isel(customer_id=first).to_dataset(name="log_likelihood"),
        }
    )
    result = az.loo(distinct, pointwise=True, var_name="log_likelihood")
    customers = values["customer_id"]

    def expand(array: Any) -> Any:
        if array is None:
            return None
        return xr.DataArray(
            np.asarray(array)[inverse.ravel()],
            dims=("customer_id",),
            coords={"customer_id": customers},
        )

    elpd_i = expand(result.elpd_i)
    n = elpd_i.size
    lppd = float((logsumexp(flat, axis=0) - np.log(lead)).sum())  # in-sample log density
    return dataclasses.replace(
        result,
        elpd=float(elpd_i.sum()),
        se=float(np.sqrt(n * np.var(elpd_i.to_numpy(), ddof=1))),
        p=lppd - float(elpd_i.sum()),
        n_data_points=n,
        elpd_i=elpd_i,
        pareto_k=expand(result.pareto_k),
        p_loo_i=expand(result.p_loo_i),
        n_eff_i=expand(result.n_eff_i),
        influence_pareto_k=expand(result.influence_pareto_k),
        log_weights=None,
    )


def loo_table(models: Mapping[str, CLVModel]) -> pd.DataFrame:
    """PSIS-LOO of several posterior fits of the same customers, ranked (:func:`arviz.compare`).

    Returns
    -------
    pandas.DataFrame
        One row per model, best first: ``model``, ``rank``, ``elpd``, ``se``,
        ``elpd_diff`` and ``dse`` (difference to the best model and its standard error),
        ``p`` (effective number of parameters), ``weight`` (stacking), ``p_worse``,
        ``diag_diff``, ``diag_elpd`` (ArviZ's cautions) and ``pareto_k_high`` (customers
        above ``good_k``).
    """
    import arviz as az

    if len(models) < 1:
        raise ValueError("pass at least one posterior fit, e.g. {'BG/NBD': model}.")
    results = {label: loo(model, label) for label, model in models.items()}
    table = az.compare(results, round_to="none") if len(results) > 1 else _single(results)
    table["pareto_k_high"] = [
        int((results[m].pareto_k > results[m].good_k).sum()) for m in table.index
    ]
    table.index.name = "model"
    columns = ["rank", "elpd", "se", "elpd_diff", "dse", "p", "weight"]
    rest = [c for c in table.columns if c not in columns]
    return table[columns + rest].reset_index()


def _single(results: Mapping[str, Any]) -> pd.DataFrame:
    ((label, result),) = results.items()
    return pd.DataFrame(
        {"rank": 0, "elpd": result.elpd, "se": result.se, "elpd_diff": 0.0, "dse": 0.0,
         "p": result.p, "weight": 1.0},
        index=[label],
    )  # fmt: skip
