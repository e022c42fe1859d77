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
from clvlab.models.prior_scales import mean_interpurchase_time, mean_observation_time

__all__ = ["ParetoNBD"]


class ParetoNBD(BuyTillYouDieModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), parameters
    ``r, alpha, s, beta``.

    Parameters
    ----------
    priors : mapping of str to dict, optional
        Overrides of the default priors. Defaults (weakly informative, in the data's time
        unit): ``r ~ HalfNormal(sigma=10)`` and ``alpha ~ HalfNormal(sigma=10 * m)`` as for
        :class:`clvlab.models.BetaGeo` (``m = sum(T) / sum(x)``, the mean time per repeat
        purchase); ``s ~ Gamma(2, 2)`` (mean 1: dropout rates about as heterogeneous as an
        exponential distribution, ``1 / sqrt(s)`` being their coefficient of variation,
        with little mass at the extremes s -> 0 or s -> inf) and ``beta ~ HalfNormal(sigma
        = mean(T))``: ``beta / s`` is a typical lifetime, and lifetimes much longer than
        the observation period are what the data cannot inform. ``s`` and ``beta`` are
        weakly identified on small data (CDNOW: standard errors 0.19 and 6.2): the
        likelihood stays nearly flat along a ridge towards large ``s`` and ``beta`` with
        ``s / beta`` (the mean dropout rate) fixed, i.e. towards customers who all drop
        out at the same rate. Scales tied to ``max(T)`` (``beta ~ HalfNormal(10 max(T))``)
        let the posterior drift along that ridge (CDNOW: s 0.88 +- 0.37, beta 21.9 +- 13.4
        against the MLE 0.606 and 11.67); with these defaults s is 0.77 +- 0.25 and beta
        17.7 +- 8.9 (within 0.7 sd of the MLE, no divergences in 2 x 500 draws).
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
        return {
            "r": {"dist": "HalfNormal", "sigma": 10.0},
            "alpha": {"dist": "HalfNormal", "sigma": 10.0 * mean_interpurchase_time(data)},
            "s": {"dist": "Gamma", "alpha": 2.0, "beta": 2.0},  # closes the ridge (docstring)
            "beta": {"dist": "HalfNormal", "sigma": mean_observation_time(data)},
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
        #     alpha^r w^n / (alpha+w)^(r+n), so
        # P(X(t) = n) = (beta/(beta+t))^s NB(n | t)
        #             + s beta^s Gamma(r+n)/(Gamma(r) n!) alpha^r
        #               * int_0^t tau^n (alpha+tau)^-(r+n) (beta+tau)^-(s+1) dtau,
        # the integral by the likelihood's adaptive quadrature with the extra factor tau^n.
        r, alpha, s, beta = (np.asarray(params[name], dtype=float) for name in self.param_names)
        log_coef = sc.gammaln(r + n) - sc.gammaln(r) - sc.gammaln(n + 1.0) + r * np.log(alpha)
        survives = s * (np.log(beta) - np.log(beta + t)) - (r + n) * np.log(alpha + t)
        if n > 0:
            survives = survives + n * np.log(t)
        log_integral = pareto_nbd_likelihood.log_integral(0.0, t, r + n, alpha, s, beta, n=n)
        drops = np.log(s) + s * np.log(beta) + log_integral
        return np.exp(log_coef + np.logaddexp(survives, drops))

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
