"""MBG/NBD: the modified BG/NBD model of Batislam, Denizel & Filiztekin (2007).

Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and comparison
of models for customer base analysis. *International Journal of Research in Marketing*
24(3), 201-209.

Same as BG/NBD except that a customer may also drop out right after the *first*
purchase, so customers without repeat purchases can be inactive. Likelihood of one
customer (Batislam et al. 2007, eq. 2):

.. math::

    L(r, \\alpha, a, b \\mid x, t_x, T) =
        \\frac{B(a, b + x + 1)}{B(a, b)}
        \\frac{\\Gamma(r + x) \\alpha^r}{\\Gamma(r) (\\alpha + T)^{r + x}}
      + \\frac{B(a + 1, b + x)}{B(a, b)}
        \\frac{\\Gamma(r + x) \\alpha^r}{\\Gamma(r) (\\alpha + t_x)^{r + x}},

i.e. the BG/NBD likelihood with one more dropout opportunity (:math:`b + x \\to b + x + 1`
in the first term) and the second term for every customer, :math:`x = 0` included. Hence
:math:`P(\\text{alive}) = 1 / (1 + \\frac{a}{b + x} (\\frac{\\alpha + T}{\\alpha + t_x})^{r + x})`.
The code is shared with :class:`clvlab.models.BetaGeo` through its
``_dropout_at_first_purchase`` switch.
"""

from __future__ import annotations

from typing import ClassVar

from clvlab.models.beta_geo import BetaGeo

__all__ = ["ModifiedBetaGeo"]


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007), parameters ``r, alpha, a, b``.

    Priors and methods as in :class:`clvlab.models.BetaGeo`. A new customer is alive after
    the first purchase with probability :math:`b / (a + b)`, so
    ``expected_purchases_new_customer`` is lower than under BG/NBD for equal parameters.
    """

    name: ClassVar[str] = "mbg-nbd"
    _dropout_at_first_purchase: ClassVar[int] = 1
