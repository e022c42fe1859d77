"""BG/BB: the beta-geometric/beta-Bernoulli model of Fader, Hardie & Shang (2010).

Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-base analysis in a
discrete-time noncontractual setting. *Marketing Science* 29(6), 1086-1108.

Assumptions
-----------
* Transactions can happen only at discrete opportunities (annual events, donation
  drives). While alive, a customer transacts at each opportunity with probability
  :math:`p`; :math:`p \\sim \\mathrm{Beta}(\\alpha, \\beta)`.
* At the start of each opportunity an alive customer dies (for good) with probability
  :math:`\\theta`; :math:`\\theta \\sim \\mathrm{Beta}(\\gamma, \\delta)`.

Data per customer: :math:`x` transactions in the :math:`n` opportunities after the first
transaction, the last at opportunity :math:`t_x` (columns ``frequency``, ``recency``,
``periods``), one row per customer or one row per pattern with a weights column (the
donations table: ``BetaGeoBetaBinom(weights="weights")``).

Likelihood of one customer (FHS 2010, eq. 5): alive through all :math:`n` opportunities,
or died at the start of opportunity :math:`t_x + i + 1`:

.. math::

    L = \\frac{B(\\alpha + x, \\beta + n - x)}{B(\\alpha, \\beta)}
        \\frac{B(\\gamma, \\delta + n)}{B(\\gamma, \\delta)}
      + \\sum_{i=0}^{n - t_x - 1}
        \\frac{B(\\alpha + x, \\beta + t_x - x + i)}{B(\\alpha, \\beta)}
        \\frac{B(\\gamma + 1, \\delta + t_x + i)}{B(\\gamma, \\delta)}.

:math:`P(\\text{alive through } n)` is the first term over :math:`L`; a customer alive then
has :math:`p \\sim \\mathrm{Beta}(\\alpha + x, \\beta + n - x)` and :math:`\\theta \\sim
\\mathrm{Beta}(\\gamma, \\delta + n)`, which gives every prediction
(:class:`clvlab.models.btyd.DiscreteBuyTillYouDieModel`). FHS 2010 eq. 11 reports
:math:`P(\\text{alive in } n + 1)`, which is this times :math:`(\\delta + n) / (\\gamma +
\\delta + n)` (surviving the next opportunity's dropout).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from clvlab.models.btyd import DiscreteBuyTillYouDieModel
from clvlab.models.params import Parameter
from clvlab.models.xp import special

__all__ = ["BetaGeoBetaBinom"]


class BetaGeoBetaBinom(DiscreteBuyTillYouDieModel):
    """BG/BB model (Fader, Hardie & Shang 2010) with parameters ``alpha, beta, gamma,
    delta``.

    Parameters
    ----------
    priors : mapping of str to dict, optional
        Overrides of the default priors ``alpha, beta, gamma, delta ~ HalfNormal(sigma=10)``
        (shapes of the beta distributions of the transaction probability, mean
        ``alpha / (alpha + beta)``, and of the dropout probability, mean
        ``gamma / (gamma + delta)``).
    covariates, weights
        See :class:`clvlab.models.base.CLVModel`; ``weights="weights"`` for the donations
        table.

    Examples
    --------
    >>> from clvlab.datasets import load_donations
    >>> donations = load_donations().rename_axis("customer_id").reset_index()
    >>> model = BetaGeoBetaBinom(weights="weights").fit(donations, method="mle")
    >>> {k: round(v, 3) for k, v in model.params.items()}
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    """

    name: ClassVar[str] = "bg-bb"
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("alpha"),
        Parameter("beta"),
        Parameter("gamma"),
        Parameter("delta"),
    )
    default_nuts_sampler: ClassVar[str] = "nutpie-pyfunc"

    def _default_priors(self, data: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        return {name: {"dist": "HalfNormal", "sigma": 10.0} for name in self.param_names}

    def _initial_params(self, data: Mapping[str, np.ndarray]) -> dict[str, float]:
        return dict.fromkeys(self.param_names, 1.0)

    def _log_parts(self, data: Mapping[str, Any], params: Mapping[str, Any], xp: Any):
        """``(log first term, log L)`` of FHS 2010 eq. 5."""
        sp = special(xp)
        x, t_x, n = data["x"], data["t_x"], data["T"]  # n: opportunities after the first
        alpha, beta, gamma, delta = (params[name] for name in self.param_names)
        log_b0 = sp.betaln(alpha, beta) + sp.betaln(gamma, delta)
        # Alive through all n opportunities, x transactions among them.
        log_alive = sp.betaln(alpha + x, beta + n - x) + sp.betaln(gamma, delta + n) - log_b0
        # Died at the start of opportunity t_x + i + 1, for i = 0 .. n - t_x - 1 (masked
        # beyond each row's own n - t_x), summed on the scale of the largest term.
        gaps = np.asarray(n - t_x)
        died = [
            (
                sp.betaln(alpha + x, beta + t_x - x + i)
                + sp.betaln(gamma + 1, delta + t_x + i)
                - log_b0,
                gaps > i,
            )
            for i in range(int(np.max(gaps, initial=0)))
        ]
        top = log_alive
        for term, mask in died:
            top = xp.maximum(top, xp.where(mask, term, top))
        total = xp.exp(log_alive - top)
        for term, mask in died:
            total = total + xp.where(mask, xp.exp(term - top), 0.0)
        return log_alive, top + xp.log(total)

    def _log_likelihood(self, data: Mapping[str, Any], params: Mapping[str, Any], xp: Any):
        return self._log_parts(data, params, xp)[1]

    def _log_probability_alive(self, data: Mapping[str, Any], params: Mapping[str, Any]):
        log_alive, log_total = self._log_parts(data, params, np)
        return log_alive - log_total

    def _alive_params(self, data: Mapping[str, Any], params: Mapping[str, Any]):
        x, n = data["x"], data["T"]
        return {
            "alpha": params["alpha"] + x,
            "beta": params["beta"] + n - x,
            "gamma": params["gamma"],
            "delta": params["delta"] + n,
        }

    def _expected_purchases_alive(self, params: Mapping[str, Any], t: ArrayLike) -> np.ndarray:
        # FHS 2010 eq. 8: E[X(t)] = alpha/(alpha + beta) * delta/(gamma - 1)
        #   * [1 - Gamma(gamma + delta) Gamma(1 + delta + t) / (Gamma(gamma + delta + t)
        #   Gamma(1 + delta))]; at gamma = 1 the limit delta (psi(delta + t + 1) - psi(delta + 1)).
        alpha, beta, gamma, delta = (params[name] for name in self.param_names)
        log_ratio = (
            sc.gammaln(gamma + delta)
            + sc.gammaln(1 + delta + t)
            - sc.gammaln(gamma + delta + t)
            - sc.gammaln(1 + delta)
        )
        near_one = np.abs(gamma - 1.0) < 1e-6
        lifetime = np.where(
            near_one,
            delta * (sc.digamma(delta + t + 1) - sc.digamma(delta + 1)),
            delta / np.where(near_one, 1.0, gamma - 1.0) * -np.expm1(log_ratio),
        )
        return alpha / (alpha + beta) * lifetime

    def _probability_of_purchases_alive(
        self, params: Mapping[str, Any], n: int, t: float
    ) -> np.ndarray:
        # FHS 2010 eq. 7: alive through all t opportunities with n transactions, or died at
        # the start of opportunity i + 1 (i = n .. t - 1) with n transactions among i.
        alpha, beta, gamma, delta = (params[name] for name in self.param_names)
        t = int(t)
        if n > t:
            return np.zeros(np.broadcast_shapes(np.shape(alpha), np.shape(delta)))
        log_b0 = sc.betaln(alpha, beta) + sc.betaln(gamma, delta)

        def log_choose(m: int) -> float:
            return sc.gammaln(m + 1) - sc.gammaln(n + 1) - sc.gammaln(m - n + 1)

        prob = np.exp(
            log_choose(t)
            + sc.betaln(alpha + n, beta + t - n)
            + sc.betaln(gamma, delta + t)
            - log_b0
        )
        for i in range(n, t):
            prob = prob + np.exp(
                log_choose(i)
                + sc.betaln(alpha + n, beta + i - n)
                + sc.betaln(gamma + 1, delta + i)
                - log_b0
            )
        return prob

    def _discounted_purchases_alive(
        self, params: Mapping[str, Any], discount_rate: float
    ) -> np.ndarray:
        # FHS 2010 eq. 14 for a customer alive at 0: transaction probability
        # alpha/(alpha + beta) times sum_{t >= 1} B(gamma, delta + t)/B(gamma, delta) z^t,
        # z = 1/(1 + d), = delta/(gamma + delta) z 2F1(1, delta + 1; gamma + delta + 1; z).
        alpha, beta, gamma, delta = (params[name] for name in self.param_names)
        z = 1.0 / (1.0 + discount_rate)
        alive = delta / (gamma + delta) * z * sc.hyp2f1(1.0, delta + 1, gamma + delta + 1, z)
        return alpha / (alpha + beta) * alive

    @classmethod
    def _simulate(cls, params: Mapping[str, Any], T: np.ndarray, rng: np.random.Generator):
        alpha, beta, gamma, delta = (np.asarray(params[k], dtype=float) for k in cls.param_names)
        shape = np.broadcast_shapes(alpha.shape, delta.shape, np.shape(T))
        p = rng.beta(alpha, beta, size=shape)
        theta = np.clip(rng.beta(gamma, delta, size=shape), 1e-12, 1.0)
        # Opportunities survived: dies at the start of opportunity G ~ Geometric(theta).
        survived = np.minimum(rng.geometric(theta) - 1, np.broadcast_to(T, shape))
        x = np.zeros(shape, dtype=int)
        t_x = np.zeros(shape)
        for opportunity in range(1, int(np.max(T, initial=0)) + 1):
            buys = (opportunity <= survived) & (rng.random(shape) < p)
            x += buys
            t_x = np.where(buys, opportunity, t_x)
        return x, t_x
