"""Probabilistic models of customer behaviour.

Buy-till-you-die models for non-contractual settings, fitted by NUTS, MAP, ADVI or
maximum likelihood through one shared interface (:class:`clvlab.models.base.CLVModel`):

* :class:`BetaGeo` - BG/NBD (Fader, Hardie & Lee 2005);
* :class:`ModifiedBetaGeo` - MBG/NBD (Batislam, Denizel & Filiztekin 2007);
* :class:`ParetoNBD` - Pareto/NBD (Schmittlein, Morrison & Colombo 1987).
"""

from clvlab.models.base import CLVModel
from clvlab.models.beta_geo import BetaGeo
from clvlab.models.btyd import BuyTillYouDieModel
from clvlab.models.modified_beta_geo import ModifiedBetaGeo
from clvlab.models.pareto_nbd import ParetoNBD

__all__ = ["BetaGeo", "BuyTillYouDieModel", "CLVModel", "ModifiedBetaGeo", "ParetoNBD"]
