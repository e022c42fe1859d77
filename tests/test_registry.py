"""Tests for clvlab.models.registry: display names as the literature writes them."""

from __future__ import annotations

from clvlab.models import BetaGeo, ModifiedBetaGeo, ParetoNBD
from clvlab.models.registry import DISPLAY_NAMES, MODELS, display_name


def test_display_names_as_in_the_literature():
    assert display_name(BetaGeo) == "BG/NBD"
    assert display_name(ModifiedBetaGeo()) == "MBG/NBD"
    assert display_name(ParetoNBD()) == "Pareto/NBD"


def test_every_registered_model_has_a_display_name():
    # clvlab's own models (tests may register toy models of their own, named by class)
    ours = {name for name, cls in MODELS.items() if cls.__module__.startswith("clvlab.")}
    assert ours <= set(DISPLAY_NAMES)
