"""Pareto/NBD: the model of Schmittlein, Morrison & Colombo (1987).

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: Who
are they and what will they do next? *Management Science* 33(1), 1-24. Parameter values
on CDNOW as in Fader, Hardie & Lee (2005).

Assumptions
-----------
* While active, a customer buys as a Poisson process with rate :math:`\\lambda`;
  :math:`\\lambda \\sim \\mathrm{Gamma}(r, \\alpha)`.
* The customer's unobserved lifetime :math:`\\tau` is exponential with rate :math:`\\mu`;
  :math:`\\mu \\sim \\mathrm{Gamma}(s, \\beta)`.

Likelihood of one customer, written as alive-at-T plus dropped-out-at-tau in
:math:`(t_x, T]` (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model and
related expressions", eq. 3 integrated over the gamma mixing distributions):

.. math::

    L = \\frac{\\Gamma(r + x) \\alpha^r \\beta^s}{\\Gamma(r)}
        \\Big[ \\frac{1}{(\\alpha + T)^{r + x} (\\beta + T)^s}
             + s \\int_{t_x}^{T} \\frac{d\\tau}{(\\alpha + \\tau)^{r + x}
                                              (\\beta + \\tau)^{s + 1}} \\Big].

The integral (a Gauss hypergeometric function in closed form) is evaluated by the
Gauss-Legendre quadrature of :mod:`clvlab.models.pareto_nbd_likelihood`, which serves numpy
and pytensor alike and gives the gradient for NUTS and maximum likelihood on the same nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from clvlab.models import pareto_nbd_likelihood
from clvlab.models.btyd import BuyTillYouDieModel, recency_of_last
from clvlab.models.params import Parameter

__all__ = ["ParetoNBD"]

# Gauss-Legendre rule on [-1, 1] for the dropout-time integral of P(X(t) = n).
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(64)


class ParetoNBD(BuyTillYouDieModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), parameters
    ``r, alpha, s, beta``.

    Parameters
    ----------
    priors : mapping of str to dict, optional
        Overrides of the default priors. Defaults (weakly informative):
        ``r ~ HalfNormal(sigma=10)``, ``s ~ HalfNormal(sigma=1)``; ``alpha, beta ~
        HalfNormal(sigma=10 * max(T))`` (both carry the time unit). ``s`` and ``beta`` are
        weakly identified on small data (CDNOW: standard errors about 0.2 and 6): the
        likelihood stays nearly flat along a ridge towards large ``s`` and ``beta`` with
        ``s / beta`` (the mean dropout rate) fixed, i.e. towards customers who all drop out
        at the same rate. With ``s ~ HalfNormal(10)`` the posterior followed that ridge
        (CDNOW: mean s 4.8, beta 173, with ~1,700 divergences under PyMC's sampler);
        ``s ~ HalfNormal(1)`` still allows coefficients of variation of the dropout rate
        (``1 / sqrt(s)``) from about 0.5 upwards and gives posterior means within one sd of
        the MLE (CDNOW: s 0.91 +- 0.39, beta 22 +- 14) with few divergences.
    """

    name: ClassVar[str] = "pareto-nbd"
    #: ``alpha`` and ``beta`` are rates' scales: positive coefficients raise the rates.
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("r"),
        Parameter("alpha", link_sign=-1.0),
        Parameter("s"),
        Parameter("beta", link_sign=-1.0),
    )
    #: "nutpie-pyfunc": CDNOW 4 x 1,000 in 11 s, 3 divergences, 4.6 leapfrog steps per
    #: draw; "nutpie" (nutpie's own compilation) 15 s.
    default_nuts_sampler: ClassVar[str] = "nutpie-pyfunc"

    def _default_priors(self, data: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        scale = 10.0 * float(max(np.max(data["T"]), 1.0))
        return {
            "r": {"dist": "HalfNormal", "sigma": 10.0},
            "alpha": {"dist": "HalfNormal", "sigma": scale},
            "s": {"dist": "HalfNormal", "sigma": 1.0},  # closes the ridge (docstring)
            "beta": {"dist": "HalfNormal", "sigma": scale},
        }

    def _initial_params(self, data: Mapping[str, np.ndarray]) -> dict[str, float]:
        mean_T = max(float(np.mean(data["T"])), 1e-9)
        rate = max(float(np.mean(data["x"])) / mean_T, 1e-3)
        return {"r": 1.0, "alpha": 1.0 / rate, "s": 1.0, "beta": mean_T}

    def _log_likelihood(self, data: Mapping[str, Any], params: Mapping[str, Any], xp: Any):
        # log L = log Gamma(r+x) - log Gamma(r) + r log alpha + s log beta
        #         + log[ (alpha+T)^-(r+x) (beta+T)^-s            (alive at T)
        #                + s int_{t_x}^T (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau ]
        #                                                        (dropped out at tau)
        return pareto_nbd_likelihood.log_likelihood(
            data["x"], data["t_x"], data["T"], *(params[k] for k in self.param_names), xp=xp
        )

    def _log_likelihood_gradient(self, data: Mapping[str, Any], params: Mapping[str, Any]):
        # Leibniz's rule under the integral, on the same quadrature nodes (see
        # pareto_nbd_likelihood.log_likelihood_gradient).
        return pareto_nbd_likelihood.log_likelihood_gradient(
            data["x"], data["t_x"], data["T"], *(params[k] for k in self.param_names)
        )

    def _log_probability_alive(self, data: Mapping[str, Any], params: Mapping[str, Any]):
        # P(alive) = (first term of L) / L.
        return pareto_nbd_likelihood.log_probability_alive(
            data["x"], data["t_x"], data["T"], *(params[k] for k in self.param_names)
        )

    def _alive_params(self, data: Mapping[str, Any], params: Mapping[str, Any]):
        # Alive at T: lambda ~ Gamma(r + x, alpha + T), mu ~ Gamma(s, beta + T).
        return {
            "r": params["r"] + data["x"],
            "alpha": params["alpha"] + data["T"],
            "s": params["s"],
            "beta": params["beta"] + data["T"],
        }

    def _expected_purchases_alive(self, params: Mapping[str, Any], t: ArrayLike) -> np.ndarray:
        # E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)]
        # (SMC 1987; FHL 2005 eq. 19), with the s -> 1 limit r beta / alpha log(1 + t/beta).
        r, alpha, s, beta = (params[name] for name in self.param_names)
        log_ratio = np.log(beta) - np.log(beta + t)
        s_minus_1 = s - 1.0
        safe = np.where(np.abs(s_minus_1) < 1e-10, 1.0, s_minus_1)
        factor = np.where(np.abs(s_minus_1) < 1e-10, -log_ratio, -np.expm1(safe * log_ratio) / safe)
        return r * beta / alpha * factor

    def _probability_of_purchases_alive(
        self, params: Mapping[str, Any], n: int, t: float
    ) -> np.ndarray:
        # Condition on the lifetime tau ~ Lomax(s, beta): the count over min(tau, t) is
        # negative binomial, NB(n | r, alpha, w) = Gamma(r+n)/(Gamma(r) n!)
        #     (alpha/(alpha+w))^r (w/(alpha+w))^n, so
        # P(X(t) = n) = (beta/(beta+t))^s NB(n | t)
        #             + int_0^t s beta^s (beta+tau)^-(s+1) NB(n | tau) dtau.
        # The integral is taken over u = log(beta + tau) (density s beta^s e^(-s u)) by
        # 64-node Gauss-Legendre, robust when beta is small against t.
        r, alpha, s, beta = (np.asarray(params[name], dtype=float) for name in self.param_names)
        log_coef = sc.gammaln(r + n) - sc.gammaln(r) - sc.gammaln(n + 1.0)

        def log_nb(w: np.ndarray) -> np.ndarray:
            value = log_coef + r * (np.log(alpha) - np.log(alpha + w))
            if n > 0:
                value = value + n * (np.log(w) - np.log(alpha + w))
            return value

        u0, u1 = np.log(beta), np.log(beta + t)
        half = (u1 - u0) / 2.0
        total = np.exp(s * (u0 - u1) + log_nb(np.asarray(t, dtype=float)))
        for node, weight in zip(_GL_NODES, _GL_WEIGHTS, strict=True):
            u = u0 + half * (node + 1.0)
            tau = np.exp(u) - beta
            total = total + weight * half * np.exp(np.log(s) + s * (u0 - u) + log_nb(tau))
        return total

    @classmethod
    def _simulate(cls, params: Mapping[str, Any], T: np.ndarray, rng: np.random.Generator):
        r, alpha, s, beta = (np.asarray(params[name], dtype=float) for name in cls.param_names)
        shape = np.broadcast_shapes(r.shape, alpha.shape, s.shape, beta.shape, np.shape(T))
        lam = rng.gamma(r, 1.0 / alpha, size=shape)
        mu = rng.gamma(s, 1.0 / beta, size=shape)
        lifetime = rng.exponential(1.0 / np.maximum(mu, 1e-300))
        window = np.minimum(lifetime, T)  # active part of the observation period
        x = rng.poisson(lam * window)
        return x, recency_of_last(x, x, window, rng)
