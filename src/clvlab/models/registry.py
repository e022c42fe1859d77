"""The registry of clvlab models, keyed by each model's ``name`` (e.g. ``"bg-nbd"``).

Every concrete subclass of :class:`clvlab.models.base.CLVModel` that sets ``name``
registers itself when its class is created; the command line offers these names, and
:meth:`CLVModel.load` finds the class of a saved model here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clvlab.models.base import CLVModel

__all__ = ["DISPLAY_NAMES", "MODELS", "display_name", "model_class", "register"]

#: Registered model classes by name.
MODELS: dict[str, type[CLVModel]] = {}

#: Each model's name as the literature writes it (for legends, titles, tables), by registry name.
DISPLAY_NAMES: dict[str, str] = {
    "bg-nbd": "BG/NBD",
    "mbg-nbd": "MBG/NBD",
    "pareto-nbd": "Pareto/NBD",
    "bg-bb": "BG/BB",
    "sbg": "sBG",
    "gamma-gamma": "Gamma-Gamma",
}


def register(cls: type[CLVModel]) -> type[CLVModel]:
    """Add ``cls`` under ``cls.name``; a name taken by another class raises ValueError."""
    taken = MODELS.get(cls.name)
    if taken is not None and taken.__qualname__ != cls.__qualname__:
        raise ValueError(f"model name {cls.name!r} is taken by {taken.__qualname__}.")
    MODELS[cls.name] = cls
    return cls


def display_name(model: CLVModel | type[CLVModel]) -> str:
    """The model's name as the literature writes it, e.g. ``"BG/NBD"`` for ``BetaGeo``.

    Takes a model or its class; a model without an entry in :data:`DISPLAY_NAMES` is named
    by its class.
    """
    cls = model if isinstance(model, type) else type(model)
    return DISPLAY_NAMES.get(getattr(cls, "name", ""), cls.__name__)


def model_class(name: str) -> type[CLVModel]:
    """The class registered as ``name`` (files saved before the registry stored the class
    name, e.g. ``"BetaGeo"``, which is accepted too).

    Raises
    ------
    ValueError
        If no model has that name; the message lists the names.
    """
    if name in MODELS:
        return MODELS[name]
    by_class = {cls.__name__: cls for cls in MODELS.values()}
    if name in by_class:
        return by_class[name]
    raise ValueError(f"no clvlab model is named {name!r}; models: {sorted(MODELS)}.")
