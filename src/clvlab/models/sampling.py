"""nutpie's NUTS sampler on a PyMC model compiled by PyTensor's C backend.

``nutpie.compile_pymc_model`` translates the PyMC model to numba, which costs seconds of
compilation per fit (minutes for the Pareto/NBD quadrature graph). Here the joint
log-density and its gradient are compiled instead by PyTensor's default C backend, whose
cache in ``~/.pytensor`` makes later fits of the same model start in about a second, and
handed to nutpie's Rust sampler as plain Python callables
(:func:`nutpie.compiled_pyfunc.from_pyfunc`). The PyMC model stays the single source of
the density; only the sampler changes. Chains share one compiled function: the C code
holds Python's global interpreter lock, so evaluations do not overlap anyway.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["NUTPIE_C", "compile_for_nutpie"]

#: ``nuts_sampler`` name of this path: nutpie's sampler, PyTensor's C back end.
NUTPIE_C = "nutpie-c"


def compile_for_nutpie(model: Any) -> Any:
    """Compile a PyMC model's density for :func:`nutpie.sample`.

    Parameters
    ----------
    model : pymc.Model
        A model whose free variables are scalars or arrays (any transforms).

    Returns
    -------
    nutpie.compiled_pyfunc.PyFuncModel
        Samples the unconstrained value variables, stored as the model's free random
        variables on their own (constrained) scale, named as in PyMC's posterior.
    """
    import pytensor
    import pytensor.tensor as pt
    from nutpie.compiled_pyfunc import from_pyfunc
    from pymc.initial_point import make_initial_point_fn
    from pymc.pytensorf import join_nonshared_inputs

    point = model.initial_point()
    value_vars = model.value_vars
    logp = model.logp()
    grad = pt.concatenate([g.ravel() for g in pt.grad(logp, value_vars)])
    # The free variables in terms of the value variables (back-transformed).
    constrained = model.replace_rvs_by_values(model.free_RVs)
    (logp, grad, *constrained), x = join_nonshared_inputs(
        point, [logp, grad, *constrained], value_vars
    )
    logp_fn = _fast_function(pytensor.function([x], [logp, grad]))
    expand_fn = _fast_function(pytensor.function([x], constrained))

    names = [rv.name for rv in model.free_RVs]
    shapes = [np.shape(value) for value in expand_fn(_ravel(point, value_vars))]
    lock = threading.Lock()  # PyTensor functions are not re-entrant

    def make_logp_fn():
        def logp(x: np.ndarray, **_: Any) -> tuple[float, np.ndarray]:
            with lock:
                value, gradient = logp_fn(x)
            return float(value), np.array(gradient, dtype=np.float64)

        return logp

    def make_expand_fn(*_: Any):
        def expand(x: np.ndarray, **__: Any) -> dict[str, np.ndarray]:
            with lock:
                values = expand_fn(x)
            return {
                name: np.array(v, dtype=np.float64) for name, v in zip(names, values, strict=True)
            }

        return expand

    # PyMC's default start: the prior's support point, jittered on the unconstrained scale.
    start = make_initial_point_fn(
        model=model, jitter_rvs=set(model.free_RVs), return_transformed=True
    )

    def initial_point(seed: int) -> np.ndarray:
        with lock:
            return _ravel(start(seed), value_vars)

    return from_pyfunc(
        ndim=int(x.type.shape[0]),
        make_logp_fn=make_logp_fn,
        make_expand_fn=make_expand_fn,
        expanded_dtypes=[np.dtype("float64")] * len(names),
        expanded_shapes=shapes,
        expanded_names=names,
        make_initial_point_fn=initial_point,
    )


def _fast_function(fn: Any) -> Any:
    """Skip PyTensor's input checks (inputs are always float64 vectors of the right size)."""
    fn.trust_input = True
    return fn


def _ravel(point: dict[str, np.ndarray], value_vars: list[Any]) -> np.ndarray:
    """The values of ``value_vars`` in ``point``, as one float64 vector."""
    return np.concatenate([np.ravel(point[v.name]) for v in value_vars]).astype(np.float64)
