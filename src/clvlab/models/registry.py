"""The registry of clvlab models, keyed by each model's ``name`` (e.g. ``"bg-nbd"``).

Every concrete subclass of :class:`clvlab.models.base.CLVModel` that sets ``name``
registers itself when its class is created; the command line offers these names, and
:meth:`CLVModel.load` finds the class of a saved model here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clvlab.models.base import CLVModel

__all__ = ["MODELS", "model_class", "register"]

#: Registered model classes by name.
MODELS: dict[str, type[CLVModel]] = {}


def register(cls: type[CLVModel]) -> type[CLVModel]:
    """Add ``cls`` under ``cls.name``; a name taken by another class raises ValueError."""
    taken = MODELS.get(cls.name)
    if taken is not None and taken.__qualname__ != cls.__qualname__:
        raise ValueError(f"model name {cls.name!r} is taken by {taken.__qualname__}.")
    MODELS[cls.name] = cls
    return cls


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
