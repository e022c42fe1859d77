"""Pareto/NBD log-likelihood by fixed-node quadrature (draft, see docstring below)."""

from __future__ import annotations

import numpy as np
import scipy.special

__all__ = ["log_likelihood", "log_probability_alive"]

# ----------------------------------------------------------------------------------------
# numpy / pytensor shim
# ----------------------------------------------------------------------------------------


class _Ops:
    def __init__(self, xp):
        self.xp = xp
        self.is_numpy = xp is np
        if self.is_numpy:
            self.gammaln = scipy.special.gammaln
            self.where = np.where
            self.asarray = lambda v: np.asarray(v, dtype=np.float64)
        else:
            self.gammaln = xp.gammaln
            self.where = xp.switch
            self.asarray = lambda v: xp.as_tensor_variable(v)

    def __getattr__(self, name):
        return getattr(self.xp, name)


# Gauss-Legendre nodes/weights on [0, 1], computed once.
def _gl01(n):
    t, w = np.polynomial.legendre.leggauss(n)
    return (t + 1.0) / 2.0, w / 2.0


N_NODES = 48
_T, _W = _gl01(N_NODES)
_LOG_W = np.log(_W)
_K_DROP = 60.0  # truncate where the integrand fell by e^-K below its maximum
_CAND = np.array([0.0, 1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0])
_MASK = -1e30
_TINY = 1e-300


def _psi(o, u, one_m_p, q, delta):
    """Log integrand in u = log(c + tau): (1-p) u - q log(delta + e^u)."""
    return one_m_p * u - q * (u + o.log1p(delta * o.exp(-u)))


def _dpsi(o, u, one_m_p, q, delta):
    rho = 1.0 / (1.0 + delta * o.exp(-u))
    return one_m_p - q * rho


def _side_nodes(o, start, end):
    """Nodes on [start, end] (either order) and log(|width| * weight)."""
    width = end - start
    nodes = start[..., None] + width[..., None] * _T
    absw = o.abs(width)
    logw = o.log(o.maximum(absw, _TINY))[..., None] + _LOG_W
    logw = logw + o.where(absw > 0, 0.0, _MASK)[..., None]
    return nodes, logw


def _truncate(o, u_m, u_end, one_m_p, q, delta, sign):
    """Point between u_m and u_end beyond which psi < psi(u_m) - K (conservative)."""
    psi_m = _psi(o, u_m, one_m_p, q, delta)
    span = u_end - u_m
    ua = u_m[..., None] + span[..., None] * _CAND
    e = (one_m_p[..., None], q[..., None], delta[..., None])
    drop = psi_m[..., None] - _psi(o, ua, *e)
    slope = sign * _dpsi(o, ua, *e)  # <= 0 going outward
    steep = o.maximum(-slope, 1e-300)
    bound = o.where(drop >= _K_DROP, ua, ua + sign * (_K_DROP - drop) / steep)
    if sign > 0:
        b = o.min(bound, axis=-1)
        b = o.minimum(b, u_end)
    else:
        b = o.max(bound, axis=-1)
        b = o.maximum(b, u_end)
    target = psi_m - _K_DROP
    for _ in range(3):
        val = _psi(o, b, one_m_p, q, delta) - target
        d = _dpsi(o, b, one_m_p, q, delta)
        step = val / o.where(o.abs(d) > 1e-300, d, 1e-300)
        b = o.where(val < 0, b - step, b)
    return b


def _log_integral(o, t_x, T, a, alpha, s, beta):
    """log of int_{t_x}^T (alpha+tau)^-a (beta+tau)^-(s+1) dtau."""
    a_le_b = alpha <= beta
    c = o.minimum(alpha, beta)
    delta = o.abs(alpha - beta)
    p = o.where(a_le_b, a, s + 1.0)
    q = o.where(a_le_b, s + 1.0, a)
    one_m_p = 1.0 - p
    u0 = o.log(c + t_x)
    u1 = o.log(c + T)
    rho_star = one_m_p / q
    rs = o.minimum(o.maximum(rho_star, _TINY), 1.0 - 1e-16)
    u_star = o.log(o.maximum(delta, _TINY)) + o.log(rs) - o.log1p(-rs)
    u_star = o.where(rho_star > 0, u_star, -1e300)
    u_m = o.minimum(o.maximum(u_star, u0), u1)
    u_r = _truncate(o, u_m, u1, one_m_p, q, delta, +1.0)
    u_l = _truncate(o, u_m, u0, one_m_p, q, delta, -1.0)
    nr, lwr = _side_nodes(o, u_m, u_r)
    nl, lwl = _side_nodes(o, u_m, u_l)
    e = (one_m_p[..., None], q[..., None], delta[..., None])
    terms_r = lwr + _psi(o, nr, *e)
    terms_l = lwl + _psi(o, nl, *e)
    terms = o.concatenate([terms_l, terms_r], axis=-1)
    mx = o.max(terms, axis=-1, keepdims=True)
    return mx[..., 0] + o.log(o.sum(o.exp(terms - mx), axis=-1))


def _terms(x, t_x, T, r, alpha, s, beta, xp):
    o = _Ops(xp)
    x, t_x, T, r, alpha, s, beta = (o.asarray(v) for v in (x, t_x, T, r, alpha, s, beta))
    a = r + x
    # broadcast everything to a common shape
    zero = 0.0 * (x + t_x + T + r + alpha + s + beta)
    a, t_x, T, alpha, s, beta, r = (v + zero for v in (a, t_x, T, alpha, s, beta, r))
    t1 = -a * o.log(alpha + T) - s * o.log(beta + T)
    t2 = o.log(s) + _log_integral(o, t_x, T, a, alpha, s, beta)
    pre = o.gammaln(a) - o.gammaln(r) + r * o.log(alpha) + s * o.log(beta)
    return o, pre, t1, t2


def _logaddexp(o, a, b):
    m = o.maximum(a, b)
    return m + o.log1p(o.exp(-o.abs(a - b)))


def log_likelihood(x, t_x, T, r, alpha, s, beta, *, xp=np):
    """Per-customer Pareto/NBD log-likelihood ln L(r, alpha, s, beta | x, t_x, T)."""
    if xp is np:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            o, pre, t1, t2 = _terms(x, t_x, T, r, alpha, s, beta, xp)
            return pre + _logaddexp(o, t1, t2)
    o, pre, t1, t2 = _terms(x, t_x, T, r, alpha, s, beta, xp)
    return pre + _logaddexp(o, t1, t2)


def log_probability_alive(x, t_x, T, r, alpha, s, beta, *, xp=np):
    """ln P(tau > T | x, t_x, T) = ln[first term of L] - ln L."""
    if xp is np:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            o, _, t1, t2 = _terms(x, t_x, T, r, alpha, s, beta, xp)
            return t1 - _logaddexp(o, t1, t2)
    o, _, t1, t2 = _terms(x, t_x, T, r, alpha, s, beta, xp)
    return t1 - _logaddexp(o, t1, t2)
