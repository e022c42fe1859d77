"""Pareto/NBD likelihood kernel against the hypergeometric closed form at high precision.

The reference is the closed form of Fader & Hardie (2005), "A note on deriving the
Pareto/NBD model and related expressions":

    L = Γ(r+x) α^r β^s / Γ(r) [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) (A(t_x) - A(T)) ],
    A(t) = 2F1(r+s+x, s+1; r+s+x+1; (α-β)/(α+t)) / (α+t)^(r+s+x)        if α >= β,
           2F1(r+s+x, r+x; r+s+x+1; (β-α)/(β+t)) / (β+t)^(r+s+x)        otherwise,

evaluated with mpmath at 50 significant digits and again at twice the digits until the two
agree: at 50-60 digits mpmath's hyp2f1 silently returns wrong values (even the wrong sign) for
arguments near 0.8 with parameters in the hundreds, which doubling the precision exposes.
mpmath's numerical quadrature is not used as the reference (it is unreliable for these sharp
integrands); it checks the closed form itself on benign parameters.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln

from clvlab.models import pareto_nbd_likelihood as pnl

mp = pytest.importorskip("mpmath")

# full-precision MLE on CDNOW (CLVTools tests), see PUBLISHED_ESTIMATES.md
MLE = (0.55315, 10.57633, 0.60625, 11.67150)


# ----------------------------------------------------------------------------------------
# reference
# ----------------------------------------------------------------------------------------


def _mpf(v):
    return v if isinstance(v, mp.mpf) else mp.mpf(float(v))


def _closed_form(dps, x, t_x, T, r, alpha, s, beta):
    """(log prefactor, first term, second term) of L at `dps` digits."""
    with mp.workdps(dps):
        x, t_x, T, r, alpha, s, beta = (_mpf(v) for v in (x, t_x, T, r, alpha, s, beta))
        m = r + s + x

        def big_a(t):
            if alpha >= beta:
                z = (alpha - beta) / (alpha + t)
                return mp.hyp2f1(m, s + 1, m + 1, z) / (alpha + t) ** m
            z = (beta - alpha) / (beta + t)
            return mp.hyp2f1(m, r + x, m + 1, z) / (beta + t) ** m

        log_pre = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
        alive = 1 / ((alpha + T) ** (r + x) * (beta + T) ** s)
        dropped = s / m * (big_a(t_x) - big_a(T)) if t_x < T else mp.mpf(0)
        return log_pre, alive, dropped


def reference_terms(x, t_x, T, r, alpha, s, beta, dps=50):
    """Closed form at `dps` digits, recomputed at twice the digits until two agree."""
    args = (x, t_x, T, r, alpha, s, beta)
    previous = _closed_form(dps, *args)
    while True:
        dps *= 2
        current = _closed_form(dps, *args)
        with mp.workdps(dps):
            if abs(current[2] - previous[2]) <= mp.mpf(10) ** -30 * abs(current[2]):
                return current
        assert dps < 3200, f"closed form does not settle at {args}"
        previous = current


def reference(points):
    """Reference ln L and ln P(alive) (floats) for rows (x, t_x, T, r, alpha, s, beta)."""
    ll, lpa = [], []
    for row in points:
        log_pre, alive, dropped = reference_terms(*row)
        with mp.workdps(50):
            ll.append(float(log_pre + mp.log(alive + dropped)))
            lpa.append(float(mp.log(alive) - mp.log(alive + dropped)))
    return np.array(ll), np.array(lpa)


# ----------------------------------------------------------------------------------------
# grids
# ----------------------------------------------------------------------------------------


def _loguniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def realistic_grid():
    """x <= 100, T <= 200, r, s in 0.05-5, alpha, beta in 0.5-200; random + hand-picked."""
    rng = np.random.default_rng(20240611)
    n = 300
    x = np.where(rng.random(n) < 0.5, rng.integers(0, 10, n), rng.integers(0, 101, n))
    T = rng.uniform(0.5, 200, n)
    u = rng.random(n)
    t_x = np.where(u < 0.1, T, np.where(u < 0.15, 0.0, rng.random(n) * T))
    t_x = np.where(x == 0, 0.0, t_x)
    r, s = _loguniform(rng, 0.05, 5, n), _loguniform(rng, 0.05, 5, n)
    alpha, beta = _loguniform(rng, 0.5, 200, n), _loguniform(rng, 0.5, 200, n)
    random = np.column_stack([x, t_x, T, r, alpha, s, beta])
    hand = [
        [26, 30.857, 31, *MLE],  # BTYD vignette customer
        [0, 0, 38.86, *MLE],
        [2, 30.43, 38.86, *MLE],
        [3, 10, 10, 1, 2, 1, 2],  # t_x = T
        [100, 200, 200, 5, 0.5, 0.05, 200],
        [100, 200 - 1e-6, 200, 5, 0.5, 0.05, 200],  # t_x just below T
        [100, 0, 200, 5, 0.5, 0.05, 200],  # x > 0 with t_x = 0
        [5, 3, 20, 1, 7, 1, 7],  # alpha == beta
        [5, 3, 20, 1, 7, 1, 7 * (1 + 1e-9)],  # alpha ~ beta
        [0, 0, 0.5, 0.05, 200, 5, 0.5],
        [1, 0.25, 0.5, 5, 0.5, 0.05, 0.5],
    ]
    for r_, alpha_, s_, beta_, x_ in itertools.product(
        [0.05, 5], [0.5, 200], [0.05, 5], [0.5, 200], [0, 100]
    ):
        for frac in [0.0] if x_ == 0 else [0.0, 0.5, 1.0]:
            hand.append([x_, frac * 200, 200, r_, alpha_, s_, beta_])
    return np.vstack([random, np.array(hand, dtype=float)])


def extreme_grid():
    """x <= 1000, T <= 500, every parameter in 0.01-1000; random + corners of the box."""
    rng = np.random.default_rng(1987)
    n = 150
    x = np.floor(_loguniform(rng, 1, 1001, n)) - 1
    T = _loguniform(rng, 0.1, 500, n)
    u = rng.random(n)
    t_x = np.where(u < 0.1, T, np.where(u < 0.2, 0.0, rng.random(n) * T))
    params = [_loguniform(rng, 0.01, 1000, n) for _ in range(4)]
    random = np.column_stack([x, t_x, T, *params])
    corners = np.array(
        [
            [x_, f * T_, T_, *p]
            for x_, T_, f, *p in itertools.product(
                [0, 1, 1000], [0.5, 500], [0, 0.999, 1], *[[0.01, 1000]] * 4
            )
        ]
    )
    pick = rng.choice(len(corners), 60, replace=False)
    return np.vstack([random, corners[pick]])


@pytest.fixture(scope="module")
def realistic():
    points = realistic_grid()
    return points, *reference(points)


@pytest.fixture(scope="module")
def extreme():
    points = extreme_grid()
    return points, *reference(points)


# ----------------------------------------------------------------------------------------
# the reference itself
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "point",
    [
        (0, 0, 38.86, *MLE),
        (4, 12.3, 30.0, 1.3, 4.0, 0.7, 9.0),
        (7, 2.0, 15.0, 2.5, 12.0, 1.6, 3.0),
        (2, 5.0, 5.5, 0.4, 1.0, 2.0, 1.0),
    ],
)
def test_reference_closed_form_matches_direct_quadrature(point):
    x, t_x, T, r, alpha, s, beta = (mp.mpf(v) for v in point)
    _, _, dropped = reference_terms(*point)
    with mp.workdps(50):
        integral = mp.quad(
            lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), [t_x, T]
        )
        assert abs(s * integral - dropped) < mp.mpf(10) ** -30 * dropped


def test_reference_settles_where_low_precision_hyp2f1_is_wrong():
    # mpmath's hyp2f1 at 60 digits gives A(t_x) < A(T) here (a negative integral)
    point = (1, 39.9659436, 44.6047337, 320.365293, 0.225278766, 352.617468, 171.794764)
    _, _, low = _closed_form(60, *point)
    _, _, settled = reference_terms(*point)
    assert low < 0 < settled


# ----------------------------------------------------------------------------------------
# accuracy
# ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_realistic_grid_within_1e_8(realistic):
    points, ll, lpa = realistic
    got = pnl.log_likelihood(*points.T)
    assert np.all(np.isfinite(got))
    assert np.max(np.abs(got - ll)) < 1e-8  # measured: about 2e-13
    got_pa = pnl.log_probability_alive(*points.T)
    assert np.max(np.abs(got_pa - lpa)) < 1e-8


@pytest.mark.slow
def test_extreme_grid_within_1e_4_and_finite(extreme):
    points, ll, lpa = extreme
    got = pnl.log_likelihood(*points.T)
    got_pa = pnl.log_probability_alive(*points.T)
    assert np.all(np.isfinite(got)) and np.all(np.isfinite(got_pa))
    assert np.all(got_pa <= 0)
    assert np.max(np.abs(got - ll)) < 1e-4
    assert np.max(np.abs(got_pa - lpa)) < 1e-4
    # measured: about 4e-12 (rounding of values up to 2e4); keep a margin, catch regressions
    assert np.max(np.abs(got - ll)) < 1e-9


def test_t_x_equal_T_is_the_first_term_only():
    x, T, r, alpha, s, beta = 4.0, 12.0, 0.8, 3.0, 1.2, 5.0
    expected = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
        - (r + x) * np.log(alpha + T)
        - s * np.log(beta + T)
    )
    assert pnl.log_likelihood(x, T, T, r, alpha, s, beta) == pytest.approx(expected, abs=1e-13)
    assert pnl.log_probability_alive(x, T, T, r, alpha, s, beta) == 0.0


def test_node_tiers_match_a_dense_rule_on_fresh_extreme_points():
    """The node-count table (module docstring) was calibrated on other random points."""
    rng = np.random.default_rng(31337)
    n = 50_000
    x = np.floor(_loguniform(rng, 1, 1001, n)) - 1
    x = np.where(rng.random(n) < 0.3, rng.integers(0, 5, n), x)
    T = _loguniform(rng, 0.1, 500, n)
    t_x = np.where(x == 0, 0.0, rng.random(n) * T)
    r, alpha, s, beta = (_loguniform(rng, 0.01, 1000, n) for _ in range(4))
    dense = pnl.quadrature_rules([(np.inf, 64)])
    args = (t_x, T, r + x, alpha, s, beta)
    value, grad = pnl.log_integral(*args, with_gradient=True)
    value_dense, grad_dense = pnl.log_integral(*args, with_gradient=True, rules=dense)
    assert np.max(np.abs(value - value_dense)) < 1e-10
    np.testing.assert_allclose(grad, grad_dense, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------------------
# published values
# ----------------------------------------------------------------------------------------


def _cdnow_summary():
    try:
        from clvlab.datasets import load_cdnow_summary

        table = load_cdnow_summary()
        return table["frequency"], table["recency"], table["T"]
    except (ImportError, KeyError):
        table = pd.read_csv(Path(__file__).parents[1] / "data" / "cdnow_summary_reference.csv")
        return table["x"], table["t_x"], table["T"]


def test_cdnow_log_likelihood_at_the_mle():
    x, t_x, T = (np.asarray(v, dtype=float) for v in _cdnow_summary())
    total = pnl.log_likelihood(x, t_x, T, *MLE).sum()
    # Published: -9594.98. The summary is rounded to 2 decimals; on it the closed form
    # (mpmath, 50+ digits, this file's reference) gives -9594.973934770 at the same MLE.
    assert total == pytest.approx(-9594.98, abs=0.01)
    assert total == pytest.approx(-9594.973934770, abs=1e-6)


def test_btyd_vignette_probability_alive():
    p_alive = np.exp(pnl.log_probability_alive(26, 30.857, 31, *MLE))
    assert f"{p_alive:.4g}" == f"{0.997874:.4g}"
    assert p_alive == pytest.approx(0.997874, abs=5e-6)


# ----------------------------------------------------------------------------------------
# broadcasting
# ----------------------------------------------------------------------------------------


def test_numpy_broadcasts_parameter_draws_against_customers():
    x = np.array([0.0, 1, 5, 26])
    t_x = np.array([0.0, 3, 20, 30.857])
    T = np.array([38.0, 38, 35, 31])
    draws = np.array([MLE, (0.5, 9.0, 0.7, 12.0), (1.5, 3.0, 0.2, 30.0)])  # (3, 4 params)
    r, alpha, s, beta = (draws[:, k].reshape(3, 1, 1) * np.ones((1, 2, 1)) for k in range(4))
    got = pnl.log_likelihood(x, t_x, T, r, alpha, s, beta)
    assert got.shape == (3, 2, 4)
    for i, params in enumerate(draws):
        np.testing.assert_allclose(got[i, 0], pnl.log_likelihood(x, t_x, T, *params), rtol=1e-14)
        np.testing.assert_allclose(got[i, 1], got[i, 0], rtol=0)
    assert np.ndim(pnl.log_likelihood(1, 2.0, 3.0, *MLE)) == 0


# ----------------------------------------------------------------------------------------
# pytensor
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled():
    """Value, ln P(alive) and gradient of ln L w.r.t. per-point (r, alpha, s, beta).

    Compiled with the Python linker: no C compilation, so the test stays fast on a cold
    PyTensor cache (the default C mode gives the same numbers; the model class uses it).
    """
    pytensor = pytest.importorskip("pytensor")
    pt = pytest.importorskip("pytensor.tensor")
    from pytensor.compile.mode import Mode

    inputs = pt.dvectors("x", "t_x", "T", "r", "alpha", "s", "beta")
    ll = pnl.log_likelihood(*inputs, xp=pt)
    lpa = pnl.log_probability_alive(*inputs, xp=pt)
    grads = pytensor.grad(ll.sum(), inputs[3:])
    mode = Mode(linker="py", optimizer="fast_compile")
    return pytensor.function(inputs, [ll, lpa, *grads], mode=mode)


@pytest.mark.slow
def test_pytensor_matches_numpy(compiled, realistic, extreme):
    for points in (realistic[0], extreme[0]):
        ll, lpa, *_ = compiled(*points.T)
        np.testing.assert_allclose(ll, pnl.log_likelihood(*points.T), rtol=1e-13, atol=1e-10)
        np.testing.assert_allclose(
            lpa, pnl.log_probability_alive(*points.T), rtol=1e-13, atol=1e-10
        )


@pytest.mark.slow
def test_pytensor_gradient_finite_on_extreme_grid(compiled, extreme):
    points = extreme[0]
    _, _, *grads = compiled(*points.T)
    assert all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.slow
def test_pytensor_gradient_matches_finite_differences(compiled, realistic):
    points = realistic[0][::37]
    _, _, *grads = compiled(*points.T)
    for k in range(4):
        h = 1e-6 * points[:, 3 + k]
        up, down = points.copy(), points.copy()
        up[:, 3 + k] += h
        down[:, 3 + k] -= h
        fd = (pnl.log_likelihood(*up.T) - pnl.log_likelihood(*down.T)) / (2 * h)
        np.testing.assert_allclose(grads[k], fd, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_pytensor_gradient_matches_high_precision_derivative(compiled):
    points = np.array(
        [
            [26, 30.857, 31, *MLE],
            [0, 0, 0.5, 0.01, 0.01, 0.01, 0.01],  # alpha == beta
            [1, 499.5, 500, 1000, 1000, 1, 1000],  # alpha == beta, t_x near T
            [709, 0.0491, 0.1087, 0.0256, 0.0143, 0.0533, 18.19],  # sharp integrand
            [1000, 250, 500, 1000, 1000, 0.01, 1],
            [10, 0.25, 0.5, 0.01, 0.01, 1000, 1],
        ]
    )
    _, _, *grads = compiled(*points.T)
    for i, row in enumerate(points):
        theta = [mp.mpf(float(v)) for v in row[3:]]
        for k in range(4):
            with mp.workdps(200):
                h = mp.mpf(10) ** -40
                up, down = list(theta), list(theta)
                up[k] += h
                down[k] -= h
                values = []
                for params in (up, down):
                    log_pre, alive, dropped = _closed_form(200, *row[:3], *params)
                    values.append(log_pre + mp.log(alive + dropped))
                exact = float((values[0] - values[1]) / (2 * h))
            assert grads[k][i] == pytest.approx(exact, rel=1e-10, abs=1e-10)


@pytest.fixture(scope="module")
def compiled_pregrad():
    """Like ``compiled`` (value and gradient), but the gradient is taken after PyMC's
    pre-gradient rewrites (canonicalize + stabilize; ``pymc.pytensorf.rewrite_pregrad``, as
    in ``Model.compile_dlogp``, PyMC's NUTS and ``find_MAP``)."""
    pytensor = pytest.importorskip("pytensor")
    pt = pytest.importorskip("pytensor.tensor")
    rewrite_pregrad = pytest.importorskip("pymc.pytensorf").rewrite_pregrad
    from pytensor.compile.mode import Mode

    inputs = pt.dvectors("x", "t_x", "T", "r", "alpha", "s", "beta")
    ll = rewrite_pregrad(pnl.log_likelihood(*inputs, xp=pt))
    grads = pytensor.grad(ll.sum(), inputs[3:])
    mode = Mode(linker="py", optimizer="fast_compile")
    return pytensor.function(inputs, [ll, *grads], mode=mode)


@pytest.mark.slow
def test_pytensor_gradient_unchanged_by_pymc_pregrad_rewrites(
    compiled, compiled_pregrad, realistic, extreme
):
    # The gradient comes from the kernel's own output (Leibniz's rule), so the rewrites PyMC
    # applies before differentiating must leave it as it is (an earlier version, which
    # differentiated the quadrature graph, got NaN there).
    for points in (realistic[0], extreme[0]):
        ll, _, *grads = compiled(*points.T)
        ll_rewritten, *grads_rewritten = compiled_pregrad(*points.T)
        np.testing.assert_allclose(ll_rewritten, ll, rtol=1e-13, atol=1e-10)
        for k in range(4):
            assert np.all(np.isfinite(grads_rewritten[k]))
            np.testing.assert_allclose(grads_rewritten[k], grads[k], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("pregrad", [False, True], ids=["plain", "pregrad-rewritten"])
@pytest.mark.slow
def test_pytensor_jacobian_matches_gradient(compiled, realistic, pregrad):
    """``pytensor.gradient.jacobian`` of the per-customer values w.r.t. shared (scalar)
    parameters gives each customer's gradient, as ``grad`` does. (Vectorised jacobian only:
    the row-by-row ``scan`` version agrees too but compiles for ~40 s.)"""
    pytensor = pytest.importorskip("pytensor")
    pt = pytest.importorskip("pytensor.tensor")
    rewrite_pregrad = pytest.importorskip("pymc.pytensorf").rewrite_pregrad
    from pytensor.compile.mode import Mode
    from pytensor.gradient import jacobian

    data = realistic[0][:300:30, :3]  # 10 random customers
    params = pt.dscalars("r", "alpha", "s", "beta")
    ll = pnl.log_likelihood(*data.T, *params, xp=pt)
    if pregrad:
        ll = rewrite_pregrad(ll)
    jac = jacobian(ll, list(params), vectorize=True)
    mode = Mode(linker="py", optimizer="fast_compile")
    got = pytensor.function(params, jac, mode=mode)(*MLE)
    _, _, *expected = compiled(*data.T, *(np.full(len(data), v) for v in MLE))
    for k in range(4):
        np.testing.assert_allclose(got[k], expected[k], rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_numba_compiled_graph_reuses_the_numpy_kernel():
    """PyMC compiles the density with PyTensor's numba back end. Scalar parameters against
    data vectors (as in the PyMC model) give numpy's values and summed gradient, and the
    kernel runs with the numpy path's signature: compiled (or loaded from numba's cache)
    once, not once more inside PyTensor's code (which took seconds on a first run)."""
    pytensor = pytest.importorskip("pytensor")
    pt = pytest.importorskip("pytensor.tensor")

    x, t_x, T = np.array([0.0, 2.0, 26.0]), np.array([0.0, 10.5, 30.857]), np.full(3, 38.86)
    params = pt.dscalars("r", "alpha", "s", "beta")
    ll = pnl.log_likelihood(x, t_x, T, *params, xp=pt).sum()
    with pytensor.config.change_flags(numba__cache=False):  # compile here, not load
        fn = pytensor.function(params, [ll, *pytensor.grad(ll, list(params))], mode="NUMBA")
    value, *grads = fn(*MLE)
    np.testing.assert_allclose(value, pnl.log_likelihood(x, t_x, T, *MLE).sum(), rtol=1e-13)
    expected = pnl.log_likelihood_gradient(x, t_x, T, *MLE)
    for got, name in zip(grads, ("r", "alpha", "s", "beta"), strict=True):
        np.testing.assert_allclose(got, expected[name].sum(), rtol=1e-12)
    assert len(pnl._log_integral_kernel.signatures) == 1, pnl._log_integral_kernel.signatures
