"""Sufficient-statistic compression of per-customer summaries.

The buy-till-you-die likelihoods depend on a customer only through a few summary
statistics (for BG/NBD, MBG/NBD and Pareto/NBD: ``x``, ``t_x`` and ``T``). Customers with
identical statistics contribute identical terms, so the total log-likelihood

.. math::

    \\ell(\\theta) = \\sum_{i=1}^{n} \\ell_i(\\theta)
                   = \\sum_{k=1}^{K} w_k \\, \\ell_k(\\theta),

where the :math:`K \\le n` distinct rows carry weights :math:`w_k` (their number of
customers). On CDNOW the 2,357 customers collapse to about 1,000 rows, because every
customer without repeat purchases shares ``x = t_x = 0`` and one of few values of ``T``.
The same routine serves maximum likelihood, the PyMC models and the predictions (which
are computed once per distinct row and expanded back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["CompressedData", "compress"]


@dataclass(frozen=True)
class CompressedData:
    """Distinct rows of a set of equally long columns, with their multiplicities.

    Attributes
    ----------
    values : dict of str to numpy.ndarray
        The distinct rows, one array per column, each of length ``K``.
    weights : numpy.ndarray
        Number of original rows equal to each distinct row (length ``K``, float).
    inverse : numpy.ndarray
        For each original row, the index of its distinct row (length ``n``), so that
        ``values[c][inverse]`` restores column ``c``.
    """

    values: dict[str, np.ndarray]
    weights: np.ndarray
    inverse: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of distinct rows ``K``."""
        return int(self.weights.size)

    @property
    def n_original(self) -> int:
        """Number of original rows ``n``."""
        return int(self.inverse.size)

    def expand(self, array: np.ndarray) -> np.ndarray:
        """Map values per distinct row (last axis of length ``K``) back to the ``n`` rows."""
        return np.take(array, self.inverse, axis=-1)


def compress(columns: Mapping[str, ArrayLike], weights: ArrayLike | None = None) -> CompressedData:
    """Collapse identical rows of ``columns`` into weighted distinct rows.

    Parameters
    ----------
    columns : mapping of str to array-like
        Equally long one-dimensional numeric columns (e.g. ``{"x": ..., "t_x": ...,
        "T": ...}``), covariates included: rows are identical only if all columns are.
    weights : array-like, optional
        Weight of each input row (e.g. the customer count of an aggregated table); a
        distinct row's weight is the sum over its rows. Default: 1 per row.

    Returns
    -------
    CompressedData
        Distinct rows (sorted lexicographically), weights and the inverse index.

    Examples
    --------
    >>> c = compress({"x": [0, 1, 0], "T": [5.0, 5.0, 5.0]})
    >>> c.values["x"], c.weights
    (array([0., 1.]), array([2., 1.]))
    >>> compress({"x": [0, 1, 0]}, weights=[10, 3, 5]).weights
    array([15.,  3.])
    """
    names = list(columns)
    stacked = np.column_stack([np.asarray(columns[name], dtype=float) for name in names])
    # Sort rows lexicographically (first column slowest), then mark where a row differs
    # from its predecessor: each mark starts a new distinct row.
    order = np.lexsort(stacked.T[::-1])
    ordered = stacked[order]
    starts = np.ones(len(ordered), dtype=bool)
    starts[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    group = np.cumsum(starts) - 1
    inverse = np.empty_like(group)
    inverse[order] = group
    unique = ordered[starts]
    values = {name: np.ascontiguousarray(unique[:, j]) for j, name in enumerate(names)}
    if weights is None:
        counts = np.bincount(group).astype(float)
    else:
        counts = np.bincount(group, weights=np.asarray(weights, dtype=float)[order])
    return CompressedData(values=values, weights=counts, inverse=inverse)
