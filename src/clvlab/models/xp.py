"""Array-namespace helpers: likelihood code written once for numpy and PyTensor.

A model's ``_log_likelihood(data, params, xp)`` uses array functions from ``xp``
(:mod:`numpy` or :mod:`pytensor.tensor`); the special functions that the two namespaces
name differently come from :func:`special`, and :func:`per_distinct` evaluates terms that
depend on one data column once per distinct value of that column.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import scipy.special

__all__ = ["per_distinct", "special"]


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
