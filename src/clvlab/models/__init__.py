"""Probabilistic models of customer behaviour.

Buy-till-you-die models for non-contractual settings, fitted by NUTS, MAP, ADVI or
maximum likelihood through one shared interface (:class:`clvlab.models.base.CLVModel`),
registered by name in :data:`MODELS` (e.g. ``MODELS["bg-nbd"]``):

* :class:`BetaGeo` - BG/NBD (Fader, Hardie & Lee 2005);
* :class:`ModifiedBetaGeo` - MBG/NBD (Batislam, Denizel & Filiztekin 2007);
* :class:`ParetoNBD` - Pareto/NBD (Schmittlein, Morrison & Colombo 1987);
* :class:`GammaGamma` - spend per transaction (Fader, Hardie & Lee 2005, JMR);
* :class:`ShiftedBetaGeo` - sBG contractual retention (Fader & Hardie 2007).
"""

from clvlab.models.base import CLVModel
from clvlab.models.beta_geo import BetaGeo
from clvlab.models.btyd import BuyTillYouDieModel
from clvlab.models.gamma_gamma import GammaGamma
from clvlab.models.modified_beta_geo import ModifiedBetaGeo
from clvlab.models.pareto_nbd import ParetoNBD
from clvlab.models.registry import MODELS, model_class
from clvlab.models.shifted_beta_geo import ShiftedBetaGeo

__all__ = [
    "MODELS",
    "BetaGeo",
    "BuyTillYouDieModel",
    "CLVModel",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "ShiftedBetaGeo",
    "model_class",
]
