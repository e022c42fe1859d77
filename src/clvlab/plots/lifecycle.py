"""Plots of lifecycle phases: sizes over time, transition heatmap, flow between snapshots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator

from clvlab.phases import NOT_YET, PHASES, STATE_LABELS, STATES, readable, transition_matrix

__all__ = [
    "PHASE_COLORS",
    "plot_conversion_rates",
    "plot_phase_flow",
    "plot_phase_sizes",
    "plot_transition_heatmap",
]

PHASE_COLORS: dict[str, str] = {
    NOT_YET: "#bdbdbd",
    "new": "#4c9be8",
    "growing": "#2ca25f",
    "retained": "#99d8c9",
    "at_risk": "#fdae6b",
    "lapsed": "#de2d26",
}
"""One colour per state, the same in every plot."""


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_phase_sizes(sizes: pd.DataFrame, share: bool = False, ax: Axes | None = None) -> Axes:
    """Stacked area of the number (or share) of customers per phase over time.

    Parameters
    ----------
    sizes : pandas.DataFrame
        Output of :func:`clvlab.phases.phase_sizes`: index dates, one column per phase.
    share : bool
        Plot shares of the customers known at each date instead of counts.
    ax : matplotlib Axes, optional
    """
    ax = _axes(ax, (8, 4))
    columns = [c for c in STATES if c in sizes.columns]
    data = sizes[columns].astype(float)
    if share:
        data = data.div(data.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    ax.stackplot(
        data.index,
        data.to_numpy().T,
        labels=[STATE_LABELS[c] for c in columns],
        colors=[PHASE_COLORS[c] for c in columns],
        alpha=0.9,
    )
    ax.set_ylabel("share of customers" if share else "customers")
    if not share:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("snapshot date")
    ax.set_title("Customers per lifecycle phase")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.margins(x=0)
    return ax


def plot_transition_heatmap(
    matrix: pd.DataFrame, ax: Axes | None = None, fmt: str | None = None
) -> Axes:
    """Heatmap of a transition matrix (counts or row-normalised probabilities).

    Parameters
    ----------
    matrix : pandas.DataFrame
        Output of :func:`clvlab.phases.transition_matrix`.
    fmt : str, optional
        Annotation format; default ``".2f"`` for probabilities, ``"d"`` for counts.
    """
    ax = _axes(ax, (6, 4.5))
    is_prob = not np.issubdtype(matrix.to_numpy().dtype, np.integer)
    bar_label = (
        "probability of moving from the row's state to the column's phase"
        if is_prob
        else "customers moving from the row's state to the column's phase"
    )
    sns.heatmap(
        readable(matrix),
        annot=True,
        fmt=fmt or (".2f" if is_prob else "d"),
        cmap="Blues",
        vmin=0,
        vmax=1 if is_prob else None,
        cbar_kws={"label": bar_label},
        ax=ax,
    )
    ax.set_xlabel("to phase (at the later snapshot)")
    ax.set_ylabel("from state (at the earlier snapshot)")
    ax.set_title("Phase transitions")
    return ax


def _band(ax: Axes, x0: float, x1: float, y0: tuple, y1: tuple, color: str) -> None:
    """A smooth band from the interval ``y0`` at ``x0`` to the interval ``y1`` at ``x1``."""
    xm = (x0 + x1) / 2
    verts = [
        (x0, y0[0]),
        (xm, y0[0]),
        (xm, y1[0]),
        (x1, y1[0]),
        (x1, y1[1]),
        (xm, y1[1]),
        (xm, y0[1]),
        (x0, y0[1]),
        (x0, y0[0]),
    ]
    codes = [Path.MOVETO, *[Path.CURVE4] * 3, Path.LINETO, *[Path.CURVE4] * 3, Path.CLOSEPOLY]
    ax.add_patch(PathPatch(Path(verts, codes), facecolor=color, edgecolor="none", alpha=0.45))


def plot_phase_flow(
    snapshots: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    ax: Axes | None = None,
    gap: float = 0.02,
) -> Axes:
    """Flow (alluvial) diagram of customers between the phases of two snapshots.

    Left: the customers known at ``end`` by their state at ``start`` (including
    "Not yet a customer"); right: their phase at ``end``; each band's width is the number
    of customers who moved that way.

    Parameters
    ----------
    snapshots : pandas.DataFrame
        Output of :func:`clvlab.phases.phase_snapshots`.
    start, end : date-like
        Two snapshot dates.
    gap : float
        Vertical space between the blocks, as a share of all customers.
    """
    ax = _axes(ax, (8, 5))
    counts = transition_matrix(snapshots, start, end)
    total = int(counts.to_numpy().sum())
    space = gap * total
    width = 0.08

    def blocks(sizes: pd.Series) -> dict[str, tuple[float, float]]:
        out, top = {}, 0.0
        for state, n in sizes.items():
            if n > 0:
                out[state] = (top, top + n)
                top += n + space
        return out

    left = blocks(counts.sum(axis=1))
    right = blocks(counts.sum(axis=0))
    for side, x, spans in ((0, 0.0, left), (1, 1.0 - width, right)):
        for state, (lo, hi) in spans.items():
            ax.add_patch(plt.Rectangle((x, lo), width, hi - lo, color=PHASE_COLORS[state]))
            label = f"{STATE_LABELS[state]} ({int(hi - lo):,})"
            ax.text(
                x - 0.01 if side == 0 else x + width + 0.01,
                (lo + hi) / 2,
                label,
                ha="right" if side == 0 else "left",
                va="center",
                fontsize=9,
            )
    out_pos = {s: lo for s, (lo, _) in left.items()}
    in_pos = {s: lo for s, (lo, _) in right.items()}
    for origin in counts.index:
        for target in PHASES:
            n = int(counts.loc[origin, target])
            if n == 0:
                continue
            y0 = (out_pos[origin], out_pos[origin] + n)
            y1 = (in_pos[target], in_pos[target] + n)
            _band(ax, width, 1.0 - width, y0, y1, PHASE_COLORS[target])
            out_pos[origin] += n
            in_pos[target] += n
    top = max(max(hi for _, hi in left.values()), max(hi for _, hi in right.values()))
    ax.set_xlim(-0.35, 1.35)
    ax.set_ylim(top + space, -space)
    ax.axis("off")
    a, b = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    ax.set_title(f"Customers between phases, {a} → {b} ({total:,} customers)")
    return ax


def plot_conversion_rates(
    summary: pd.DataFrame, truth: pd.DataFrame | None = None, axes: np.ndarray | None = None
) -> np.ndarray:
    """Posterior conversion rates of a funnel: mean and HDI per group, one panel per step.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :meth:`clvlab.funnel.FunnelModel.summary` (index group × step).
    truth : pandas.DataFrame, optional
        Known rates (groups × steps, e.g. from :func:`clvlab.funnel.simulate_funnel`),
        drawn as crosses.
    axes : array of matplotlib Axes, optional
        One per step (including ``overall``).

    Returns
    -------
    numpy.ndarray of matplotlib Axes
    """
    groups = list(summary.index.get_level_values(0).unique())
    steps = list(summary.index.get_level_values(1).unique())
    if axes is None:
        _, axes = plt.subplots(
            1, len(steps), figsize=(3.6 * len(steps), 0.5 * len(groups) + 1.5), sharey=True
        )
    axes = np.atleast_1d(axes)
    y = np.arange(len(groups))[::-1]
    for ax, step in zip(axes, steps, strict=True):
        rows = summary.xs(step, level=1).reindex(groups)
        ax.hlines(y, rows["hdi_lower"], rows["hdi_upper"], color="#4c9be8", lw=3)
        ax.plot(rows["mean"], y, "o", color="#1f4e79", label="posterior mean and HDI")
        if "observed" in rows:
            ax.plot(rows["observed"], y, "|", color="black", ms=12, label="observed rate")
        if truth is not None and step in truth.columns:
            true = truth[step].reindex(groups)
            ax.plot(true, y, "x", color="#de2d26", ms=8, label="true rate")
        ax.set_title(step, fontsize=10)
        ax.set_yticks(y, groups)
        ax.grid(axis="x", alpha=0.3)
    axes[0].legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 0.3 / max(len(groups), 1)),
        frameon=False,
        fontsize=8,
    )
    return axes
