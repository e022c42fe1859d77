"""Parameter specifications: support, transform, dims and covariate links.

Every model declares its parameters as :class:`Parameter` specs; maximum likelihood, the
PyMC model, the result DataTree and the posterior draws all read them, so that nothing
else assumes a "positive scalar".

Support and transform
---------------------
Maximum likelihood works on the unconstrained vector :math:`u`, one block per
parameter:

=================  ==========  ======================  ==========================
support            transform   :math:`\\theta(u)`        :math:`d\\theta / du`
=================  ==========  ======================  ==========================
``POSITIVE``       log         :math:`e^u`               :math:`\\theta`
``REAL``           identity    :math:`u`                 1
``UNIT_INTERVAL``  logit       :math:`1/(1 + e^{-u})`    :math:`\\theta(1 - \\theta)`
=================  ==========  ======================  ==========================

Standard errors follow by the delta method,
:math:`\\mathrm{se}(\\theta) = |d\\theta/du| \\, \\mathrm{se}(u)`.

Covariate links
---------------
A model instance may link a parameter to covariate columns :math:`z_i` of the input
table (``covariates={"alpha": ["age", "income"]}``). The parameter then varies by row,

.. math::

    \\theta_i = g^{-1}\\big(g(\\theta_0) + \\sigma \\, \\gamma^\\top z_i\\big),

with :math:`g` the parameter's transform (so :math:`\\alpha_i = \\alpha_0
\\exp(-\\gamma^\\top z_i)` for a positive parameter declared with ``link_sign=-1``, as
PyMC-Marketing and CLVTools parameterise it) and a new real coefficient vector
``gamma_<name>`` with dim ``<name>_covariate``. The likelihood sees :math:`\\theta_i`,
one value per row, and is written as without covariates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special

__all__ = [
    "COVARIATE_PREFIX",
    "EDGE",
    "POSITIVE",
    "REAL",
    "UNIT_INTERVAL",
    "Parameter",
    "ParameterLayout",
    "Support",
]

#: Unconstrained values beyond this (log 18: 6.6e7 or 1.5e-8) count as the support's edge.
EDGE = 18.0
#: Key prefix of covariate columns among the data columns handed to a likelihood.
COVARIATE_PREFIX = "covariate:"


@dataclass(frozen=True)
class Support:
    """Where a parameter lives, and its transform to the real line.

    Attributes
    ----------
    name : str
        ``"positive"``, ``"real"`` or ``"unit interval"``.
    transform : {"log", "identity", "logit"}
        The map :math:`g` from the support to the real line.
    """

    name: str
    transform: str

    def to_unconstrained(self, value: Any) -> np.ndarray:
        """:math:`g(\\theta)` (numpy)."""
        value = np.asarray(value, dtype=float)
        if self.transform == "log":
            return np.log(value)
        if self.transform == "logit":
            return scipy.special.logit(value)
        return value

    def to_constrained(self, u: Any, xp: Any = np) -> Any:
        """:math:`g^{-1}(u)` in the array namespace ``xp``."""
        if self.transform == "log":
            return xp.exp(u)
        if self.transform == "logit":
            return scipy.special.expit(u) if xp is np else xp.sigmoid(u)
        return u

    def slope(self, value: Any) -> Any:
        """:math:`d\\theta/du` at :math:`\\theta` = ``value`` (numpy)."""
        if self.transform == "log":
            return value
        if self.transform == "logit":
            return value * (1.0 - value)
        return np.ones_like(value)

    def shift(self, value: Any, offset: Any, xp: Any = np) -> Any:
        """:math:`g^{-1}(g(\\theta) + \\text{offset})`, the covariate link."""
        if self.transform == "log":
            return value * xp.exp(offset)
        if self.transform == "logit":
            logit = xp.log(value) - xp.log1p(-value)
            return self.to_constrained(logit + offset, xp)
        return value + offset

    def contains(self, value: Any) -> bool:
        """Whether every element of ``value`` lies in the support (finite)."""
        value = np.asarray(value, dtype=float)
        inside = np.isfinite(value)
        if self.transform == "log":
            inside &= value > 0
        elif self.transform == "logit":
            inside &= (value > 0) & (value < 1)
        return bool(np.all(inside))


POSITIVE = Support("positive", "log")
REAL = Support("real", "identity")
UNIT_INTERVAL = Support("unit interval", "logit")


@dataclass(frozen=True)
class Parameter:
    """Specification of one model parameter.

    Attributes
    ----------
    name : str
        Name as in the paper (``"r"``, ``"alpha"``, ...).
    support : Support
        ``POSITIVE`` (default), ``REAL`` or ``UNIT_INTERVAL``.
    dims : tuple of str
        Named dims of a vector parameter (empty: a scalar); their coordinates come from the
        model instance (:attr:`ParameterLayout.coords`).
    link_sign : float
        :math:`\\sigma` in the covariate link (see the module documentation); ``-1`` for
        scale parameters such as a gamma distribution's rate, so that a positive
        coefficient means a larger rate of purchase or dropout.
    """

    name: str
    support: Support = POSITIVE
    dims: tuple[str, ...] = ()
    link_sign: float = 1.0


@dataclass(frozen=True)
class _Link:
    coefficient: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ParameterLayout:
    """The free parameters of a model instance and their place in the unconstrained vector.

    Built from the class's :class:`Parameter` specs and the instance's covariate links
    (:meth:`build`); the coefficient vectors ``gamma_<name>`` follow the model's own
    parameters, in the order of ``covariates``.
    """

    parameters: tuple[Parameter, ...]
    coords: dict[str, list[Any]] = field(default_factory=dict)
    links: dict[str, _Link] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        parameters: Sequence[Parameter],
        covariates: Mapping[str, Sequence[str]] | None = None,
        coords: Mapping[str, Sequence[Any]] | None = None,
    ) -> ParameterLayout:
        """Layout of ``parameters`` plus one coefficient vector per linked parameter."""
        by_name = {p.name: p for p in parameters}
        all_coords = {k: list(v) for k, v in (coords or {}).items()}
        links, coefficients = {}, []
        for name, columns in (covariates or {}).items():
            if name not in by_name:
                raise ValueError(
                    f"covariates name parameter {name!r}, which the model does not have; "
                    f"it has {list(by_name)}."
                )
            columns = (columns,) if isinstance(columns, str) else tuple(columns)
            if not columns:
                raise ValueError(f"covariates for {name!r} name no column.")
            dim = f"{name}_covariate"
            coefficients.append(Parameter(f"gamma_{name}", REAL, dims=(dim,)))
            all_coords[dim] = list(columns)
            links[name] = _Link(f"gamma_{name}", columns)
        layout = cls((*parameters, *coefficients), all_coords, links)
        for p in layout.parameters:
            missing = [d for d in p.dims if d not in layout.coords]
            if missing:
                raise ValueError(f"parameter {p.name!r} has dims {missing} without coordinates.")
        return layout

    # ------------------------------------------------------------- shapes
    @property
    def names(self) -> tuple[str, ...]:
        """Names of the free parameters, in vector order."""
        return tuple(p.name for p in self.parameters)

    @property
    def covariate_columns(self) -> tuple[str, ...]:
        """All covariate columns used by the links, each once, in order of appearance."""
        return tuple(dict.fromkeys(c for link in self.links.values() for c in link.columns))

    def shape(self, parameter: Parameter) -> tuple[int, ...]:
        """Shape of one draw of ``parameter``."""
        return tuple(len(self.coords[d]) for d in parameter.dims)

    def _blocks(self) -> list[tuple[Parameter, slice, tuple[int, ...]]]:
        blocks, start = [], 0
        for p in self.parameters:
            shape = self.shape(p)
            size = int(np.prod(shape, dtype=int))
            blocks.append((p, slice(start, start + size), shape))
            start += size
        return blocks

    # ------------------------------------------------------------- the vector
    def unpack(self, u: np.ndarray) -> dict[str, Any]:
        """Constrained parameter values (scalars or arrays) from the unconstrained vector."""
        return {
            p.name: p.support.to_constrained(u[block].reshape(shape))
            if shape
            else p.support.to_constrained(u[block][0])
            for p, block, shape in self._blocks()
        }

    def pack(self, values: Mapping[str, Any]) -> np.ndarray:
        """The unconstrained vector of constrained ``values`` (a dict by parameter name)."""
        parts = [np.ravel(p.support.to_unconstrained(values[p.name])) for p, _, _ in self._blocks()]
        return np.concatenate(parts) if parts else np.zeros(0)

    def flatten(self, values: Mapping[str, Any]) -> np.ndarray:
        """Constrained ``values`` (a dict by parameter name) as one vector, in order."""
        return np.concatenate([np.ravel(values[name]) for name in self.names])

    def slope(self, values: Mapping[str, Any]) -> np.ndarray:
        """:math:`d\\theta/du` for every element of the vector (delta method)."""
        return np.concatenate(
            [np.ravel(p.support.slope(np.asarray(values[p.name]))) for p in self.parameters]
        )

    def at_edge(self, values: Mapping[str, Any]) -> dict[str, float]:
        """Elements of ``values`` whose unconstrained value exceeds :data:`EDGE` in size
        (log or logit scale; real parameters have no edge), by label: estimates that ran
        to the edge of their support."""
        flat = self.flatten(values)
        transformed = [
            p.support.transform != "identity"
            for p in self.parameters
            for _ in range(int(np.prod(self.shape(p))))
        ]
        unconstrained = self.pack(values)
        return {
            label: float(value)
            for label, value, u, bounded in zip(
                self.labels(), flat, unconstrained, transformed, strict=True
            )
            if bounded and abs(u) > EDGE
        }

    def labels(self) -> list[str]:
        """One label per vector element: ``"r"``, or ``"gamma_alpha[age]"`` for vectors."""
        labels = []
        for p, _, shape in self._blocks():
            if not shape:
                labels.append(p.name)
                continue
            for index in np.ndindex(*shape):
                coord = ", ".join(
                    str(self.coords[d][i]) for d, i in zip(p.dims, index, strict=True)
                )
                labels.append(f"{p.name}[{coord}]")
        return labels

    def draws(self, posterior: Any) -> dict[str, np.ndarray]:
        """Posterior draws flattened over ``(chain, draw)``: shape ``(draws, 1)`` for a
        scalar (to broadcast against rows), ``(draws, *shape)`` for a vector."""
        return {
            p.name: np.asarray(posterior[p.name]).reshape(-1, *(self.shape(p) or (1,)))
            for p in self.parameters
        }

    # ------------------------------------------------------------- covariates
    def link(self, params: Mapping[str, Any], data: Mapping[str, Any], xp: Any = np) -> dict:
        """Row-level parameters: linked ones become :math:`\\theta_i` (see the module docs).

        ``params`` may carry leading draw axes (the coefficient's covariate axis last);
        the linked values then have shape ``(draws, rows)``.
        """
        if not self.links:
            return dict(params)
        by_name = {p.name: p for p in self.parameters}
        linked = dict(params)
        for name, link in self.links.items():
            spec = by_name[name]
            z = self.design(data, link.columns)
            offset = xp.dot(params[link.coefficient], z.T)
            linked[name] = spec.support.shift(params[name], spec.link_sign * offset, xp)
        return linked

    @staticmethod
    def design(data: Mapping[str, Any], columns: Sequence[str]) -> np.ndarray:
        """The covariate matrix ``(rows, covariates)`` of ``columns`` in ``data``."""
        return np.column_stack([np.asarray(data[COVARIATE_PREFIX + c], float) for c in columns])

    def link_gradient(
        self,
        per_row: Mapping[str, np.ndarray],
        params: Mapping[str, Any],
        linked: Mapping[str, Any],
        data: Mapping[str, Any],
        weights: np.ndarray,
    ) -> np.ndarray:
        """Gradient of :math:`\\sum_k w_k \\ell_k` with respect to the unconstrained vector.

        ``per_row[name]`` holds :math:`\\partial \\ell_k / \\partial \\theta_{k}` at the
        row-level values ``linked``; by the chain rule, for a linked parameter
        :math:`\\partial/\\partial u_{\\theta_0} = \\sum_k w_k \\ell'_k \\, d\\theta_k/d\\eta_k`
        and :math:`\\partial/\\partial \\gamma = \\sigma \\sum_k w_k \\ell'_k \\,
        d\\theta_k/d\\eta_k \\, z_k`.
        """
        parts = {}
        for p in self.parameters:
            if p.name in per_row:
                if p.name in self.links:
                    link = self.links[p.name]
                    scaled = per_row[p.name] * p.support.slope(linked[p.name])
                    parts[p.name] = np.atleast_1d(weights @ scaled)
                    z = self.design(data, link.columns)
                    parts[link.coefficient] = p.link_sign * ((weights * scaled) @ z)
                else:
                    slope = p.support.slope(np.asarray(params[p.name]))
                    parts[p.name] = np.ravel(slope * (weights @ per_row[p.name]))
        return np.concatenate([parts[name] for name in self.names])
