"""Convergence checks for MCMC fits.

After ``fit(method="nuts")`` every clvlab model calls :func:`check_convergence`, which
warns with a :class:`ConvergenceWarning` saying what went wrong and what to do. The
thresholds follow Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization,
folding, and localization: an improved R-hat", *Bayesian Analysis* 16(2):

* rank-normalised split :math:`\\hat R \\le 1.01`;
* bulk and tail effective sample size :math:`\\ge 100` per chain (400 for four chains);
* no divergent transitions.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from clvlab.errors import ConvergenceWarning

__all__ = ["ConvergenceWarning", "check_convergence", "convergence_table"]


def _posterior(idata: xr.DataTree) -> xr.Dataset:
    return idata["posterior"].to_dataset()


def convergence_table(idata: xr.DataTree, var_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-variable worst-case diagnostics: ``r_hat`` (max), ``ess_bulk`` and ``ess_tail``
    (min over the variable's elements).

    Parameters
    ----------
    idata : xarray.DataTree
        Result of a sampler, with a ``posterior`` group of dims ``(chain, draw, ...)``.
    var_names : sequence of str, optional
        Variables to check (default: all posterior variables).
    """
    posterior = _posterior(idata)
    names = list(var_names) if var_names is not None else list(posterior.data_vars)
    posterior = posterior[names]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # Degenerate chains (e.g. constant draws) give nan with numpy warnings; the nan
        # itself is reported below.
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(posterior)
        ess_bulk = az.ess(posterior, method="bulk")
        ess_tail = az.ess(posterior, method="tail")
    rows = {
        name: {
            "r_hat": float(np.nanmax(rhat[name].to_numpy())),
            "ess_bulk": float(np.nanmin(ess_bulk[name].to_numpy())),
            "ess_tail": float(np.nanmin(ess_tail[name].to_numpy())),
        }
        for name in names
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def _count(sample_stats: xr.Dataset | None, *names: str) -> int:
    if sample_stats is None:
        return 0
    for name in names:
        if name in sample_stats:
            return int(sample_stats[name].astype(bool).sum())
    return 0


def check_convergence(
    idata: xr.DataTree,
    var_names: Sequence[str] | None = None,
    *,
    max_rhat: float = 1.01,
    min_ess_per_chain: float = 100.0,
    warn: bool = True,
    stacklevel: int = 2,
) -> list[str]:
    """Check an MCMC result; return (and by default warn about) the problems found.

    Parameters
    ----------
    idata : xarray.DataTree
        Sampler output with groups ``posterior`` and, optionally, ``sample_stats``
        (``diverging`` and ``reached_max_treedepth`` / ``maxdepth_reached`` are read).
    var_names : sequence of str, optional
        Variables to check (default: all posterior variables).
    max_rhat : float
        Largest acceptable r-hat.
    min_ess_per_chain : float
        Smallest acceptable bulk and tail ESS per chain.
    warn : bool
        Issue one :class:`ConvergenceWarning` listing every problem.
    stacklevel : int
        Passed to :func:`warnings.warn` (the models point it at the ``fit`` call).

    Returns
    -------
    list of str
        One message per problem, each with the remedy; empty when all checks pass.
    """
    posterior = _posterior(idata)
    n_chains = posterior.sizes.get("chain", 1)
    n_draws = posterior.sizes.get("draw", 1)
    min_ess = min_ess_per_chain * n_chains
    problems: list[str] = []
    if n_draws < 4:
        problems.append(
            f"only {n_draws} draws per chain: too few to diagnose convergence; "
            "sample at least a few hundred draws per chain."
        )
    else:
        table = convergence_table(idata, var_names)
        bad_rhat = table.index[~(table["r_hat"] <= max_rhat)].tolist()
        if bad_rhat:
            worst = table.loc[bad_rhat, "r_hat"].max()
            problems.append(
                f"r-hat above {max_rhat} for {bad_rhat} (worst {worst:.3f}): the chains "
                "disagree; increase tune and draws (e.g. tune=2000, draws=2000) and check "
                "the data and priors."
            )
        low_ess = table.index[
            ~((table["ess_bulk"] >= min_ess) & (table["ess_tail"] >= min_ess))
        ].tolist()
        if low_ess:
            worst = table.loc[low_ess, ["ess_bulk", "ess_tail"]].min().min()
            problems.append(
                f"effective sample size below {min_ess:.0f} ({min_ess_per_chain:.0f} per "
                f"chain) for {low_ess} (lowest {worst:.0f}): increase draws, or tune if "
                "the chains are also slow to mix."
            )
    sample_stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata else None
    divergences = _count(sample_stats, "diverging")
    if divergences:
        problems.append(
            f"{divergences} divergent transition(s): the posterior is hard to explore; "
            "raise target_accept (e.g. target_accept=0.95), tune longer, or reparametrise "
            "/ check the data for outliers."
        )
    max_depth = _count(sample_stats, "reached_max_treedepth", "maxdepth_reached")
    if max_depth:
        problems.append(
            f"{max_depth} draw(s) hit the maximum tree depth: sampling is inefficient; "
            "tune longer or reparametrise."
        )
    if problems and warn:
        warnings.warn(
            "MCMC convergence problems:\n- " + "\n- ".join(problems),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return problems
