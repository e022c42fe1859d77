r"""Bayesian funnel for the pre-purchase phases (awareness, consideration, decision).

Purchase logs only show customers from their first purchase on; the phases before it
live in funnel data: how many people reached each stage, per channel or campaign. This
module fits a hierarchical beta-binomial model of stage-to-stage conversion and ships a
seeded generator of synthetic funnels for teaching.

Model
-----
For channel :math:`j` and step :math:`k` (from stage :math:`k` to stage :math:`k+1`), with
:math:`n_{jk}` people at stage :math:`k` of whom :math:`y_{jk} = n_{j,k+1}` go on,

.. math::

    \mu_k &\sim \mathrm{Beta}(1, 1), \qquad
    \kappa_k \sim \mathrm{LogNormal}(\log 20, 1.5), \\
    p_{jk} &\sim \mathrm{Beta}\bigl(\mu_k \kappa_k,\ (1 - \mu_k)\,\kappa_k\bigr), \\
    y_{jk} &\sim \mathrm{Binomial}(n_{jk}, p_{jk}).

:math:`\mu_k` is the typical conversion rate of step :math:`k` across channels and
:math:`\kappa_k` a concentration (a pseudo sample size): the larger it is, the more the
channels' rates are pooled towards :math:`\mu_k`. The rate from first contact to purchase
is the product of the step rates, :math:`\pi_j = \prod_k p_{jk}` for a channel and
:math:`\prod_k \mu_k` for a typical channel.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Self

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from clvlab.errors import DataValidationError
from clvlab.models.bayes import check_options, check_priors

DEFAULT_STAGES: tuple[str, ...] = ("awareness", "consideration", "decision", "purchase")
DEFAULT_CHANNELS: tuple[str, ...] = ("search", "social", "email", "display")
TYPICAL = "typical channel"
#: Default priors (module documentation): typical step rate and concentration per step.
DEFAULT_PRIORS: dict[str, dict[str, Any]] = {
    "mu": {"dist": "Beta", "alpha": 1.0, "beta": 1.0},
    "kappa": {"dist": "LogNormal", "mu": float(np.log(20.0)), "sigma": 1.5},
}
#: Valid ``nuts_sampler`` values of :meth:`FunnelModel.fit`.
NUTS_SAMPLERS = ("pymc", "nutpie")

__all__ = [
    "DEFAULT_PRIORS",
    "DEFAULT_STAGES",
    "FunnelModel",
    "funnel_from_long",
    "simulate_funnel",
    "step_labels",
]


def step_labels(stages: Sequence[str]) -> list[str]:
    """Labels of the steps between consecutive stages, e.g. ``"awareness→consideration"``."""
    return [f"{a}→{b}" for a, b in itertools.pairwise(stages)]


def simulate_funnel(
    channels: Sequence[str] = DEFAULT_CHANNELS,
    stages: Sequence[str] = DEFAULT_STAGES,
    reach: int | Sequence[int] = 5000,
    mean_rates: Sequence[float] = (0.3, 0.4, 0.5),
    concentration: float | Sequence[float] = 30.0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate funnel counts from the hierarchical beta-binomial model.

    Each channel's true step rates are drawn from
    ``Beta(mean_rates[k] * concentration, (1 - mean_rates[k]) * concentration)``; the
    people reached go on stage by stage as binomial draws.

    Parameters
    ----------
    channels : sequence of str
        Channel or campaign names.
    stages : sequence of str
        Ordered stages, from first contact to purchase.
    reach : int or sequence of int
        People at the first stage, for all channels or one per channel.
    mean_rates : sequence of float
        Typical conversion rate of each step (``len(stages) - 1`` values in (0, 1)).
    concentration : float or sequence of float
        How closely channels follow the typical rate (larger: more alike).
    seed : int
        Seed of the random generator.

    Returns
    -------
    counts : pandas.DataFrame
        Index ``channel``, one integer column per stage: people who reached it.
    true_rates : pandas.DataFrame
        Index ``channel``, one column per step (see :func:`step_labels`) plus
        ``overall`` (first contact to purchase): the rates the counts were drawn from.
    """
    stages = list(stages)
    n_steps = len(stages) - 1
    mean = np.asarray(mean_rates, dtype=float)
    if n_steps < 1 or mean.shape != (n_steps,):
        raise ValueError(f"need {n_steps} mean_rates for {len(stages)} stages, got {mean.size}")
    if not np.all((mean > 0) & (mean < 1)):
        raise ValueError(f"mean_rates must lie strictly between 0 and 1, got {mean.tolist()}")
    kappa = np.broadcast_to(np.asarray(concentration, dtype=float), (n_steps,))
    n_top = np.broadcast_to(np.asarray(reach, dtype=np.int64), (len(channels),))
    rng = np.random.default_rng(seed)
    rates = rng.beta(mean * kappa, (1 - mean) * kappa, size=(len(channels), n_steps))
    counts = np.empty((len(channels), len(stages)), dtype=np.int64)
    counts[:, 0] = n_top
    for k in range(n_steps):
        counts[:, k + 1] = rng.binomial(counts[:, k], rates[:, k])
    index = pd.Index(list(channels), name="channel")
    count_frame = pd.DataFrame(counts, index=index, columns=pd.Index(stages, name="stage"))
    truth = pd.DataFrame(rates, index=index, columns=pd.Index(step_labels(stages), name="step"))
    truth["overall"] = rates.prod(axis=1)
    return count_frame, truth


def funnel_from_long(
    data: pd.DataFrame,
    group: str = "channel",
    stage: str = "stage",
    count: str = "count",
    stages: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Turn long funnel data (one row per group and stage) into the wide form.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``group``, ``stage`` and ``count``; rows of the same group and stage
        are summed.
    stages : sequence of str, optional
        Stage order; by default the order of first appearance in ``data``.

    Returns
    -------
    pandas.DataFrame
        Index ``group``, one column per stage in order; stages missing for a group are 0.
    """
    missing = [c for c in (group, stage, count) if c not in data.columns]
    if missing:
        raise DataValidationError(
            f"funnel data lacks the columns {missing}; it has {list(data.columns)}. "
            "Name the group, stage and count columns with group=, stage=, count="
        )
    order = list(pd.unique(data[stage])) if stages is None else list(stages)
    unknown = sorted(set(data[stage]) - set(order))
    if unknown:
        rows = data.index[data[stage].isin(unknown)].tolist()[:10]
        raise DataValidationError(
            f"funnel column {stage!r} holds stages {unknown} not in stages={order} "
            f"(rows {rows}); add them to stages or drop those rows"
        )
    wide = data.pivot_table(index=group, columns=stage, values=count, aggfunc="sum", fill_value=0)
    return wide.reindex(columns=order, fill_value=0).rename_axis(columns="stage")


def _validate_counts(counts: pd.DataFrame, stages: Sequence[str]) -> np.ndarray:
    missing = [s for s in stages if s not in counts.columns]
    if missing:
        raise DataValidationError(
            f"funnel counts lack the stage columns {missing}; columns are "
            f"{list(counts.columns)}. Pass stages= in funnel order or rename the columns"
        )
    values = counts[list(stages)]
    numeric = values.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() | (numeric < 0) | (numeric % 1 != 0)
    if bad.to_numpy().any():
        where = [(g, s) for g, s in zip(*np.nonzero(bad.to_numpy()), strict=True)]
        cells = [(values.index[g], stages[s]) for g, s in where[:10]]
        raise DataValidationError(
            f"funnel counts must be non-negative whole numbers; bad cells (group, stage): "
            f"{cells}. Fix or drop those rows"
        )
    arr = numeric.to_numpy(dtype=np.int64)
    rising = arr[:, 1:] > arr[:, :-1]
    if rising.any():
        g, k = np.nonzero(rising)
        cells = [(values.index[i], stages[j], stages[j + 1]) for i, j in zip(g, k, strict=True)]
        raise DataValidationError(
            "funnel counts must not grow from one stage to the next (everyone at a stage "
            f"passed the stage before); violated for (group, stage, next stage): {cells[:10]}. "
            "Check the stage order (stages=) or the counts"
        )
    return arr


class FunnelModel:
    """Hierarchical beta-binomial model of stage-to-stage conversion.

    Follows the conventions of :class:`clvlab.models.CLVModel`: priors as dicts,
    ``fit(data, ...)`` returning ``self``, options checked before any work, the model
    changed only by a fit that worked, fitted attributes ending in ``_``.

    Parameters
    ----------
    stages : sequence of str, optional
        Stage columns in funnel order; by default all columns of the counts, in order.
    group : str
        Name of the group dimension (channel, campaign, ...). If the counts have a column
        of that name it is used as the group label, otherwise the index is.
    priors : mapping of str to dict, optional
        Overrides of :data:`DEFAULT_PRIORS`, ``{"mu": {"dist": "Beta", "alpha": 2.0,
        "beta": 5.0}}``: ``mu`` (the typical step rate) and ``kappa`` (the concentration).

    Attributes
    ----------
    idata : xarray.DataTree
        Posterior after :meth:`fit`: variables ``mu``, ``kappa``, ``p`` and the
        deterministics ``overall`` (per group) and ``overall_typical``.
    counts_ : pandas.DataFrame
        The validated counts fitted (groups x stages).
    stages_ : list of str
        The stages fitted, in order.
    model_ : pymc.Model
        The PyMC model fitted.
    """

    def __init__(
        self,
        stages: Sequence[str] | None = None,
        group: str = "channel",
        priors: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        priors = check_priors(priors, list(DEFAULT_PRIORS), "FunnelModel")
        self.stages = None if stages is None else list(stages)
        self.group = group
        self.priors = priors
        self.idata: xr.DataTree | None = None
        self.counts_: pd.DataFrame | None = None
        self.stages_: list[str] | None = None
        self.model_: pm.Model | None = None

    def _prepare(self, data: pd.DataFrame) -> pd.DataFrame:
        """Validated wide counts (groups x stages, in stage order)."""
        counts = data.set_index(self.group) if self.group in data.columns else data
        stages = self.stages if self.stages is not None else list(counts.columns)
        if len(stages) < 2:
            raise DataValidationError(
                f"a funnel needs at least two stages, got {stages}; pass stages= in order"
            )
        arr = _validate_counts(counts, stages)
        if counts.index.has_duplicates:
            dup = counts.index[counts.index.duplicated()].unique().tolist()
            raise DataValidationError(
                f"funnel groups {dup} appear in more than one row; sum them first "
                "(e.g. with funnel_from_long)"
            )
        return pd.DataFrame(
            arr, index=pd.Index(counts.index.astype(str), name=self.group), columns=stages
        )

    def build_model(self, data: pd.DataFrame) -> pm.Model:
        """Build the PyMC model for wide counts ``data`` (groups x stages)."""
        counts = self._prepare(data)
        stages = list(counts.columns)
        arr = counts.to_numpy()
        priors = {**DEFAULT_PRIORS, **self.priors}
        coords = {self.group: counts.index.tolist(), "step": step_labels(stages)}
        with pm.Model(coords=coords) as model:
            mu, kappa = (
                getattr(pm, priors[name]["dist"])(
                    name, **{k: v for k, v in priors[name].items() if k != "dist"}, dims="step"
                )
                for name in ("mu", "kappa")
            )
            p = pm.Beta("p", alpha=mu * kappa, beta=(1 - mu) * kappa, dims=(self.group, "step"))
            pm.Binomial(
                "reached", n=arr[:, :-1], p=p, observed=arr[:, 1:], dims=(self.group, "step")
            )
            pm.Deterministic("overall", p.prod(axis=1), dims=self.group)
            pm.Deterministic("overall_typical", mu.prod())
        return model

    def fit(
        self,
        data: pd.DataFrame,
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        cores: int = 1,
        random_seed: int | None = None,
        nuts_sampler: str = "pymc",
        **kwargs: Any,
    ) -> Self:
        """Sample the posterior with NUTS; the model changes only if sampling works.

        Parameters
        ----------
        data : pandas.DataFrame
            Wide counts: one row per group, one column per stage, people who reached it
            (see :func:`funnel_from_long` for long data).
        draws, tune, chains, cores, random_seed
            Passed to :func:`pymc.sample`; ``target_accept`` defaults to 0.9.
        nuts_sampler : {"pymc", "nutpie"}
            Sampler of :func:`pymc.sample`.
        **kwargs
            Passed to :func:`pymc.sample`.

        Returns
        -------
        FunnelModel
            ``self``, with :attr:`idata`, :attr:`counts_` and :attr:`stages_` set.

        Raises
        ------
        ValueError
            Unknown ``nuts_sampler`` (before any work).
        TypeError
            A keyword :func:`pymc.sample` does not accept (before any work).
        DataValidationError
            The counts fail a check.
        """
        if nuts_sampler not in NUTS_SAMPLERS:
            raise ValueError(
                f"nuts_sampler must be one of {list(NUTS_SAMPLERS)}, got {nuts_sampler!r}."
            )
        check_options("nuts", "pymc", kwargs)
        counts = self._prepare(data)
        model = self.build_model(counts)
        kwargs.setdefault("target_accept", 0.9)
        kwargs.setdefault("progressbar", False)
        with model:
            idata = pm.sample(
                draws=draws,
                tune=tune,
                chains=chains,
                cores=cores,
                random_seed=random_seed,
                nuts_sampler=nuts_sampler,
                **kwargs,
            )
        self.idata, self.model_ = idata, model
        self.counts_, self.stages_ = counts, list(counts.columns)
        return self

    def _posterior(self) -> xr.Dataset:
        if self.idata is None:
            raise ValueError("FunnelModel is not fitted yet; call fit(data) first.")
        return self.idata["posterior"].to_dataset()

    def conversion_rates(self) -> xr.DataArray:
        """Posterior step rates, dims ``(chain, draw, <group>, step)``."""
        return self._posterior()["p"]

    def overall_rate(self) -> xr.DataArray:
        """Posterior rate from first contact to purchase, dims ``(chain, draw, <group>)``."""
        return self._posterior()["overall"]

    def summary(self, hdi_prob: float = 0.94) -> pd.DataFrame:
        """Posterior mean and HDI of every rate, per group and for a typical group.

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(<group>, step)`` where step runs over the step labels and
            ``overall``; group ``"typical channel"`` holds :math:`\\mu_k` and
            :math:`\\prod_k \\mu_k`. Columns ``mean, hdi_lower, hdi_upper``; the observed
            rate ``observed`` (NaN for the typical channel), ``r_hat`` and ``ess_bulk``.
        """
        post = self._posterior()
        steps = list(post["step"].values)
        per_group = xr.concat(
            [post["p"], post["overall"].expand_dims(step=["overall"])], dim="step"
        )
        typical = xr.concat(
            [post["mu"], post["overall_typical"].expand_dims(step=["overall"])], dim="step"
        ).expand_dims({self.group: [TYPICAL]})
        rates = xr.concat([per_group, typical.transpose(*per_group.dims)], dim=self.group)
        hdi = az.hdi(rates, prob=hdi_prob)
        ds = rates.to_dataset(name="rate")
        table = pd.DataFrame(
            {
                "mean": rates.mean(("chain", "draw")).to_series(),
                "hdi_lower": hdi.sel(ci_bound="lower", drop=True).to_series(),
                "hdi_upper": hdi.sel(ci_bound="upper", drop=True).to_series(),
                "r_hat": az.rhat(ds)["rate"].to_series(),
                "ess_bulk": az.ess(ds, method="bulk")["rate"].to_series(),
            }
        )
        observed = self.observed_rates().stack().rename("observed")
        table = table.join(observed)
        order = pd.MultiIndex.from_product(
            [[*self.counts_.index, TYPICAL], [*steps, "overall"]], names=[self.group, "step"]
        )
        return table.reindex(order)

    def observed_rates(self) -> pd.DataFrame:
        """Raw conversion rates in the data (NaN where a stage had nobody), per group."""
        if self.counts_ is None:
            raise ValueError("FunnelModel is not fitted yet; call fit(data) first.")
        arr = self.counts_.to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = np.where(arr[:, :-1] > 0, arr[:, 1:] / arr[:, :-1], np.nan)
            overall = np.where(arr[:, 0] > 0, arr[:, -1] / arr[:, 0], np.nan)
        frame = pd.DataFrame(
            rates,
            index=self.counts_.index,
            columns=pd.Index(step_labels(self.stages_), name="step"),
        )
        frame["overall"] = overall
        return frame
