"""BG/NBD E[X(t)] of a customer alive at 0 against mpmath at 40+ digits on an extreme grid.

The reference is FHL 2005 eq. 9 with mpmath's ``hyp2f1``, recomputed at twice the digits until
two precisions agree to 1e-18 (at 40-60 digits mpmath can be silently wrong for parameters in
the hundreds, see tests/test_pareto_nbd_likelihood.py). At a = 1, where eq. 9 is 0/0, the
reference is eq. 9 at a = 1 + 10^(-digits/2): eq. 9 is analytic in a, so this is the limit
to about digits/2 significant digits.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import betaln

from clvlab.models.beta_geo_mean import expected_purchases_alive

mp = pytest.importorskip("mpmath")

# Full-precision CDNOW MLE of BG/NBD (CLVTools tests).
FULL = (0.2425945, 4.4136019, 0.7929199, 2.4258881)


def closed_form(r, alpha, a, b, t, dps=40):
    """FHL 2005 eq. 9 at `dps` digits, doubled until two precisions agree to 1e-18."""

    def at(digits):
        with mp.workdps(digits):
            r_, alpha_, a_, b_, t_ = (mp.mpf(float(v)) for v in (r, alpha, a, b, t))
            if a_ == 1:
                a_ += mp.mpf(10) ** -(digits // 2)
            z = t_ / (alpha_ + t_)
            hyp = mp.hyp2f1(r_, b_, a_ + b_ - 1, z)
            return (a_ + b_ - 1) / (a_ - 1) * (1 - (alpha_ / (alpha_ + t_)) ** r_ * hyp)

    previous = at(dps)
    while True:
        dps *= 2
        current = at(dps)
        if abs(current - previous) <= mp.mpf(10) ** -18 * abs(current):
            return float(current)
        assert dps < 1000, "closed form does not settle"
        previous = current


def positive_series(r, alpha, a, b, t, dps=40):
    """E[X(t)] = sum_j P(survive j dropout chances) P(N > j), with N ~ NB(r, t/(alpha + t))
    the purchases of a customer who never drops out and P(survive j) = E[(1-p)^j]
    = (b)_j / (a + b)_j: a sum of positive terms, valid at a = 1 as anywhere else (used where
    the hypergeometric series converges fast, z = t / (alpha + t) not close to 1)."""
    with mp.workdps(dps):
        r, alpha, a, b, t = (mp.mpf(float(v)) for v in (r, alpha, a, b, t))
        z = t / (alpha + t)
        pmf = (1 - z) ** r  # P(N = 0)
        tail, survive, total, j = 1 - pmf, mp.mpf(1), mp.mpf(0), 0
        while True:
            term = survive * tail
            total += term
            if j > 10 and term < mp.mpf(10) ** -30 * total:
                return float(total)
            j += 1
            pmf *= (r + j - 1) / j * z
            tail -= pmf
            survive *= (b + j - 1) / (a + b + j - 1)


def _loguniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def extreme_grid():
    """(r + x, alpha + T, a, b + x, t): customers with histories and new ones (x = T = 0).

    a in 0.01-1e5 (a sixth of the points exactly 1), b, r in 0.01-1e3 (mpmath's hyp2f1 takes
    minutes when both r + x and b + x reach 1e5), alpha in 0.01-1e3, x up to 1000, T up to
    500, t from 1e-3 to 1e4; plus corners of that box.
    """
    rng = np.random.default_rng(2005)
    n = 100
    a = np.where(rng.random(n) < 0.15, 1.0, _loguniform(rng, 0.01, 1e5, n))
    b, r = _loguniform(rng, 0.01, 1e3, n), _loguniform(rng, 0.01, 1e3, n)
    alpha = _loguniform(rng, 0.01, 1e3, n)
    new = rng.random(n) < 0.3
    x = np.where(new, 0.0, np.floor(_loguniform(rng, 1, 1001, n)) - 1)
    T = np.where(new, 0.0, _loguniform(rng, 0.1, 500, n))
    t = _loguniform(rng, 1e-3, 1e4, n)
    random = np.column_stack([r + x, alpha + T, a, b + x, t])
    corners = np.array(
        [
            [r_ + x_, alpha_ + T_, a_, b_ + x_, t_]
            for r_, alpha_, a_, b_, (x_, T_), t_ in itertools.product(
                [0.01, 1e3],
                [0.01, 1e3],
                [0.01, 1.0, 1e5],
                [0.01, 1e3],
                [(0, 0), (1e3, 500)],
                [1e-3, 1e4],
            )
        ]
    )
    return np.vstack([random, corners[np.random.default_rng(7).choice(len(corners), 40)]])


# the defects of the issue: scipy's hyp2f1 gave NaN here
REPORTED = [
    (*FULL[:2], 1.0, FULL[3], 78.0),  # a = 1 exactly
    (0.2426, 4.4136, 300.0, 1950.0, 78.0),  # new customer with a ~ 300
    (10.0 + 20, 40.0 + 30, 1e4, 3e4 + 20, 52.0),  # a ~ 1e4 with a history
]


@pytest.mark.parametrize("point", REPORTED)
def test_reported_nan_points_agree_with_mpmath(point):
    value = expected_purchases_alive(*point)
    assert np.isfinite(value)
    assert value == pytest.approx(positive_series(*point), rel=1e-10)


def test_positive_series_is_eq_9():
    for point in [(*FULL, 78.0), (30.0, 70.0, 300.0, 40.0, 52.0), (0.5, 3.0, 0.05, 0.2, 9.0)]:
        assert positive_series(*point) == pytest.approx(closed_form(*point), rel=1e-15)


def test_cdnow_values_agree_with_mpmath():
    for t in (1.0, 39.0, 78.0, 500.0):
        value = expected_purchases_alive(*FULL, t)
        assert value == pytest.approx(closed_form(*FULL, t), rel=1e-13)


def test_value_is_continuous_through_a_equal_1():
    r, alpha, _, b = FULL
    values = [expected_purchases_alive(r, alpha, a, b, 52.0) for a in (1 - 1e-9, 1.0, 1 + 1e-9)]
    assert np.ptp(values) < 1e-8 * values[1]


def test_limits_at_t_zero_and_infinity():
    assert expected_purchases_alive(*FULL, 0.0) == 0.0
    r, alpha, a, b = FULL
    assert expected_purchases_alive(r, alpha, a, b, np.inf) == np.inf  # a < 1: E[1/p] = inf
    assert expected_purchases_alive(r, alpha, 3.0, b, np.inf) == pytest.approx((2 + b) / 2)


def test_broadcasts_parameter_draws_against_customers():
    r = np.array([[0.2], [0.3]])  # (draws, 1) against 3 customers
    got = expected_purchases_alive(r + np.array([0, 1, 26]), 4.4 + np.array([30, 38, 31]), 0.8,
                                   2.4 + np.array([0, 1, 26]), 39.0)  # fmt: skip
    assert got.shape == (2, 3)
    assert got[1, 2] == pytest.approx(expected_purchases_alive(26.3, 35.4, 0.8, 28.4, 39.0))


@pytest.mark.slow
def test_extreme_grid_within_1e_9_relative():
    points = extreme_grid()
    got = expected_purchases_alive(*points.T)
    assert np.all(np.isfinite(got)) and np.all(got > 0)
    reference = np.array([closed_form(*row) for row in points])
    error = np.abs(got / reference - 1)
    # measured: median 6e-15; series (103 points) within 1.5e-12, quadrature (37 points)
    # within 3e-10, largest where a ~ 5e4 (scipy's ln B(a, b) from ln-gamma values of size
    # 5e5 carries absolute errors of about 1e-10)
    assert np.max(error) < 1e-9, points[np.argmax(error)]


def test_series_and_quadrature_agree_where_both_apply():
    """The kernel sums the positive series when it is short (< 4,000 terms) and integrates
    otherwise; both ways agree on points on either side of that switch."""
    from clvlab.models import beta_geo_mean as bgm

    workspace = np.empty(bgm._MAX_TERMS)
    lo, hi, points = np.empty(bgm._MAX_PANELS), np.empty(bgm._MAX_PANELS), np.empty(6)
    cases = [(0.79, 2.4, 0.24, 17.7), (1.0, 30.0, 26.2, 1.1), (300.0, 1950.0, 0.24, 17.7),
             (2e4, 6e4, 30.0, 0.4), (0.01, 0.01, 3.0, 50.0), (5.0, 0.5, 900.0, 2.5)]  # fmt: skip
    for a, b, r, k in cases:
        series = bgm._series(a, b, r, k, 3990, workspace)
        log_integral = bgm._log_quadrature(a, b, r, k, lo, hi, points)
        quadrature = np.exp(np.log(r * k) - betaln(a, b) + log_integral)
        # quadrature: up to 1e-10 where ln B(a, b) is large (a, b ~ 1e4), else 1e-13
        assert series == pytest.approx(quadrature, rel=1e-9), (a, b, r, k)


def test_panel_edges_sorted_like_numpy():
    """The quadrature's panel edges are sorted by a small insertion sort (quick to compile)."""
    from clvlab.models.beta_geo_mean import _sorted

    rng = np.random.default_rng(0)
    for size in range(7):
        values = rng.normal(size=size)
        values[: size // 2] = 0.0  # ties, as at y = 0 and the mode
        np.testing.assert_array_equal(_sorted(values), np.sort(values))
