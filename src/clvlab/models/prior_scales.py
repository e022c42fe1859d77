"""Time scales of a per-customer summary, for default priors that follow the data's time unit.

The parameters ``alpha`` (and Pareto/NBD's ``beta``) carry the time unit: ``r / alpha`` is the
mean purchase rate, ``s / beta`` the mean dropout rate. Default priors scale them by two
averages of the data rather than by its extremes (such as the largest ``T``, which one
long-standing customer can move), so that they are weakly informative in any time unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["mean_interpurchase_time", "mean_observation_time"]


def mean_interpurchase_time(data: Mapping[str, np.ndarray]) -> float:
    """Pooled time per repeat purchase, ``sum(T) / sum(x)``: the reciprocal of the mean
    purchase rate (CDNOW in weeks: 31.4). With no repeat purchase at all, ``sum(T)``."""
    return float(np.sum(data["T"])) / max(float(np.sum(data["x"])), 1.0)


def mean_observation_time(data: Mapping[str, np.ndarray]) -> float:
    """Mean observation length ``mean(T)`` (CDNOW in weeks: 32.7), the longest time scale
    of dropout the data can inform about."""
    return float(np.mean(data["T"]))
