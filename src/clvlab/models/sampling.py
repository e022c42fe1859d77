"""nutpie's NUTS sampler on a PyMC model's density, in parallel on every platform.

Two routes, chosen by platform (:func:`default_parallelism`):

* ``"processes"`` (Linux). The joint log-density and its gradient are one ordinary PyTensor
  function (:func:`compile_density`; PyTensor's numba back end, with its on-disk cache in
  ``~/.pytensor``, so later fits of the same model compile in about a second), handed to
  nutpie's Rust sampler as a plain Python callable. The callable holds Python's global
  interpreter lock, so chains sharing one process would take turns on one core:
  :func:`sample_chains` runs each chain as its own ``nutpie.sample(chains=1)`` call, with a
  seed derived from the run's seed and the chain index, in up to ``cores`` processes forked
  from this one (they inherit the compiled function). The draws are the same whatever the
  number of cores.
* ``"threads"`` (macOS, Windows: no safe ``fork``). nutpie compiles the model itself
  (:func:`nutpie.compile_pymc_model`, not cached: a few seconds per fit) into code that
  runs without the interpreter lock, and samples all chains in one call, in its own
  threads.

Either way the PyMC model stays the single source of the density; only the sampler's
plumbing changes. Only nutpie's public entry points are used: :func:`nutpie.sample`,
:func:`nutpie.compile_pymc_model` and :func:`nutpie.compiled_pyfunc.from_pyfunc`.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Literal

import numpy as np
import xarray as xr

__all__ = [
    "NUTPIE_PYFUNC",
    "CompiledDensity",
    "chain_seeds",
    "compile_density",
    "compile_for_nutpie",
    "default_parallelism",
    "sample_chains",
]

#: ``nuts_sampler`` name of this module's path: nutpie's sampler, parallel on every platform.
NUTPIE_PYFUNC = "nutpie-pyfunc"

Parallelism = Literal["processes", "threads"]


def default_parallelism() -> Parallelism:
    """How chains run in parallel here: ``"processes"`` (forked) on Linux, ``"threads"``
    (nutpie's own) elsewhere, where ``fork`` does not exist (Windows) or is unsafe (macOS,
    whose system libraries do not survive it)."""
    return "processes" if sys.platform.startswith("linux") else "threads"


@dataclass(frozen=True)
class CompiledDensity:
    """A PyMC model's log-density on the unconstrained scale, compiled by PyTensor.

    ``x`` is the vector of the model's value variables (``model.value_vars``, e.g.
    ``log r``), raveled and concatenated in that order.

    Attributes
    ----------
    ndim : int
        Length of ``x``.
    names : list of str
        The free random variables (``model.free_RVs``), as named in PyMC's posterior.
    shapes : list of tuple of int
        Their shapes.
    logp_and_gradient : callable
        ``x -> (log p(x), d log p / dx)``: the joint log-density including the log-Jacobian
        of each transform, as PyMC defines it (``model.logp()``).
    expand : callable
        ``x -> {name: value}``: the free variables on their own (constrained) scale, e.g.
        ``r = exp(x_0)``.
    initial_point : callable
        ``seed -> x``: PyMC's default start (the prior's support point), jittered on the
        unconstrained scale, reproducible for a seed.
    """

    ndim: int
    names: list[str]
    shapes: list[tuple[int, ...]]
    logp_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]]
    expand: Callable[[np.ndarray], dict[str, np.ndarray]]
    initial_point: Callable[[int], np.ndarray]


def compile_density(model: Any) -> CompiledDensity:
    """Compile a PyMC model's log-density, its gradient and the back-transformation.

    Parameters
    ----------
    model : pymc.Model
        A model whose free variables are scalars or arrays (any transforms).

    Returns
    -------
    CompiledDensity
        Plain callables of the unconstrained vector; safe to call from several threads
        (PyTensor functions are not re-entrant: a lock serialises the calls).
    """
    import pytensor
    import pytensor.tensor as pt
    from pymc.initial_point import make_initial_point_fn
    from pymc.pytensorf import join_nonshared_inputs

    # PyMC's default start: the prior's support point, jittered on the unconstrained scale
    # (one compiled function serves the chains' starts and the point used here to set up).
    start = make_initial_point_fn(
        model=model, jitter_rvs=set(model.free_RVs), return_transformed=True
    )
    point = start(0)
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
    # PyTensor's numba back end compiles (or loads from its cache) on the first call: make
    # that call here, once, so that the chains' forked processes inherit compiled code.
    x_start = _ravel(point, value_vars)
    logp_fn(x_start)

    names = [rv.name for rv in model.free_RVs]
    lock = threading.Lock()

    def logp_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        with lock:
            value, gradient = logp_fn(x)
        return float(value), np.array(gradient, dtype=np.float64)

    def expand(x: np.ndarray) -> dict[str, np.ndarray]:
        with lock:
            values = expand_fn(x)
        return {name: np.array(v, dtype=np.float64) for name, v in zip(names, values, strict=True)}

    def initial_point(seed: int) -> np.ndarray:
        with lock:
            return _ravel(start(seed), value_vars)

    return CompiledDensity(
        ndim=int(x.type.shape[0]),
        names=names,
        shapes=[np.shape(value) for value in expand(x_start).values()],
        logp_and_gradient=logp_and_gradient,
        expand=expand,
        initial_point=initial_point,
    )


def compile_for_nutpie(model: Any, *, parallelism: Parallelism | None = None) -> Any:
    """Compile a PyMC model for :func:`nutpie.sample` and :func:`sample_chains`.

    Parameters
    ----------
    model : pymc.Model
        A model whose free variables are scalars or arrays (any transforms).
    parallelism : {"processes", "threads"}, optional
        ``"processes"``: :func:`compile_density`, wrapped for nutpie as Python callables
        (sampled one chain per forked process); ``"threads"``: nutpie's own compilation
        (:func:`nutpie.compile_pymc_model`, sampled in nutpie's threads). Default:
        :func:`default_parallelism`.

    Returns
    -------
    nutpie compiled model
        Samples the unconstrained value variables, stored as the model's free random
        variables on their own (constrained) scale, named as in PyMC's posterior.
    """
    parallelism = parallelism or default_parallelism()
    if parallelism == "threads":
        import nutpie

        return nutpie.compile_pymc_model(model, var_names=[rv.name for rv in model.free_RVs])
    if parallelism != "processes":
        raise ValueError(f"parallelism must be 'processes' or 'threads', got {parallelism!r}.")
    from nutpie.compiled_pyfunc import from_pyfunc

    density = compile_density(model)

    def logp(x: np.ndarray, **_: Any) -> tuple[float, np.ndarray]:
        return density.logp_and_gradient(x)

    def expand(x: np.ndarray, **_: Any) -> dict[str, np.ndarray]:
        return density.expand(x)

    return from_pyfunc(
        ndim=density.ndim,
        make_logp_fn=lambda: logp,
        make_expand_fn=lambda *_: expand,
        expanded_dtypes=[np.dtype("float64")] * len(density.names),
        expanded_shapes=density.shapes,
        expanded_names=density.names,
        make_initial_point_fn=density.initial_point,
    )


def _fast_function(fn: Any) -> Any:
    """Skip PyTensor's input checks (inputs are always float64 vectors of the right size)."""
    fn.trust_input = True
    return fn


def _ravel(point: dict[str, np.ndarray], value_vars: list[Any]) -> np.ndarray:
    """The values of ``value_vars`` in ``point``, as one float64 vector."""
    return np.concatenate([np.ravel(point[v.name]) for v in value_vars]).astype(np.float64)


def chain_seeds(seed: int, chains: int) -> list[int]:
    """One independent seed per chain, derived from ``(seed, chain index)``.

    Parameters
    ----------
    seed : int
        The run's seed (non-negative).
    chains : int
        Number of chains.

    Returns
    -------
    list of int
        Seeds for :func:`nutpie.sample`; the seed of a chain does not depend on
        ``chains``.
    """
    return [
        int(np.random.SeedSequence(seed, spawn_key=(chain,)).generate_state(1, np.uint64)[0])
        for chain in range(chains)
    ]


def sample_chains(
    compiled: Any,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    cores: int,
    progressbar: bool = True,
    **kwargs: Any,
) -> tuple[xr.Dataset, xr.Dataset]:
    """NUTS chains of a compiled model, in parallel, reproducibly.

    A model compiled for ``"processes"`` (:func:`compile_for_nutpie`): chain ``k`` is
    ``nutpie.sample(compiled, chains=1, seed=chain_seeds(seed, chains)[k])`` (nutpie adapts
    step size and mass matrix per chain in any case), so its draws do not depend on
    ``cores`` or on which process runs it. With ``cores > 1`` on Linux, up to ``cores``
    chains run at once, each in a process forked from this one: the compiled function is
    inherited, not recompiled. If this process runs other Python threads (a Jupyter
    kernel's, a web server's), a :class:`RuntimeWarning` says so before the first fork: a
    thread holding a lock at that moment could hang a worker. Warnings raised in a worker
    are re-issued here (tagged with the chain) and a worker's error is raised here as a
    :class:`RuntimeError` carrying its traceback. Without ``fork`` (other platforms), or
    with ``cores=1``, these chains run one after another in this process.

    A model compiled for ``"threads"``: one ``nutpie.sample(compiled, chains=chains,
    cores=cores, seed=seed)`` call, the chains in nutpie's threads.

    Parameters
    ----------
    compiled : nutpie compiled model
        From :func:`compile_for_nutpie`.
    draws, tune : int
        Draws kept and tuning steps per chain.
    chains : int
        Number of chains.
    seed : int
        Seed of the run (non-negative).
    cores : int
        Most chains run at the same time.
    progressbar : bool, default True
        nutpie's bar, or, in parallel processes, one bar over all chains' draws, fed by the
        workers.
    **kwargs
        Passed to :func:`nutpie.sample` (``target_accept``, ``adaptation``, ...).

    Returns
    -------
    posterior, sample_stats : xarray.Dataset
        Dimensions ``chain`` (coordinates ``0 .. chains - 1``) and ``draw`` first.
    """
    import nutpie
    from nutpie.compiled_pyfunc import PyFuncModel

    if not isinstance(compiled, PyFuncModel):  # nutpie's own compilation: its threads
        trace = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            progress_bar=progressbar,
            **kwargs,
        )
        return tuple(trace[group].to_dataset() for group in ("posterior", "sample_stats"))

    seeds = chain_seeds(seed, chains)
    parallel = cores > 1 and chains > 1 and default_parallelism() == "processes"

    def run_chain(chain: int, progress: Callable[[Any], None] | None) -> tuple[Any, ...]:
        trace = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=1,
            cores=1,
            seed=seeds[chain],
            progress_bar=progressbar and not parallel,
            progress_callback=progress,
            **kwargs,
        )
        return tuple(
            trace[group].to_dataset().isel(chain=0, drop=True)
            for group in ("posterior", "sample_stats")
        )

    if parallel:
        _warn_if_threaded()
        results = _run_in_processes(run_chain, chains, cores, _Progress(progressbar, chains))
    else:
        results = [run_chain(chain, None) for chain in range(chains)]
    return tuple(_stack_chains([result[i] for result in results]) for i in range(2))


def _warn_if_threaded() -> None:
    """Say so (at the caller of :func:`sample_chains`) when this process, about to fork,
    runs other Python threads."""
    current = threading.current_thread()
    others = sorted(t.name for t in threading.enumerate() if t is not current)
    if others:
        warnings.warn(
            f"Forking the chains' worker processes from a process that runs other threads "
            f"({', '.join(others)}): a thread holding a lock at the fork could hang a "
            "worker. The workers only run the compiled density and nutpie's sampler; if "
            "sampling hangs, pass cores=1 (chains one after another in this process) or "
            "nuts_sampler='nutpie' (nutpie's threads).",
            RuntimeWarning,
            stacklevel=3,
        )


def _stack_chains(parts: list[xr.Dataset]) -> xr.Dataset:
    """Stack one dataset per chain along a new leading ``chain`` dimension."""
    stacked = xr.concat(parts, dim="chain", combine_attrs="override")
    return stacked.assign_coords(chain=np.arange(len(parts)))


class _Progress:
    """One progress bar over all chains' draws, updated from the workers' reports.

    Refreshed on each report rather than by a timer, so that no thread of its own runs
    while workers are forked."""

    def __init__(self, enabled: bool, chains: int) -> None:
        self.enabled = enabled
        self.finished = [0] * chains
        self.divergences = [0] * chains
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress

            self.bar = Progress(
                *Progress.get_default_columns(), "{task.fields[divergences]}", auto_refresh=False
            )
            self.bar.start()
            self.task = self.bar.add_task("Sampling", total=None, divergences="")
        return self

    def __exit__(self, *_: Any) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, chain: int, finished: int, total: int, divergences: int) -> None:
        """Record that ``chain`` has done ``finished`` of its ``total`` steps."""
        self.finished[chain], self.divergences[chain] = finished, divergences
        if self.bar is not None:
            self.bar.update(
                self.task,
                completed=sum(self.finished),
                total=total * len(self.finished),
                divergences=f"{sum(self.divergences)} divergences",
                refresh=True,
            )


def _run_in_processes(
    run_chain: Callable[[int, Any], tuple[Any, ...]], chains: int, cores: int, progress: _Progress
) -> list[tuple[Any, ...]]:
    """Run ``run_chain(chain, progress_callback)`` for every chain, ``cores`` processes
    at a time, each forked from this process; results in chain order."""
    context = multiprocessing.get_context("fork")
    pending, running, results = list(range(chains)), {}, {}
    caught: dict[int, list[tuple[str, type[Warning]]]] = {}
    try:
        with progress:
            while pending or running:
                while pending and len(running) < cores:
                    chain = pending.pop(0)
                    reader, writer = context.Pipe(duplex=False)
                    process = context.Process(
                        target=_worker, args=(run_chain, chain, writer, progress.enabled)
                    )
                    process.daemon = True
                    with warnings.catch_warnings():
                        # Python's own warning counts every OS thread, such as the idle
                        # pools of BLAS and of nutpie's earlier runs; the Python threads,
                        # which could hold a lock the workers need, were reported by
                        # _warn_if_threaded. The children start the sampler's threads
                        # themselves, after the fork.
                        warnings.filterwarnings("ignore", ".*multi-threaded.*fork", Warning)
                        process.start()
                    writer.close()
                    running[reader] = (chain, process)
                for reader in wait(list(running)):
                    chain, process = running[reader]
                    message = _receive(reader, chain, process)
                    if message[0] == "progress":
                        progress.update(chain, *message[1:])
                        continue
                    del running[reader]
                    reader.close()
                    process.join()
                    if message[0] == "error":
                        raise RuntimeError(f"chain {chain} failed in its worker:\n{message[1]}")
                    results[chain], caught[chain] = message[1], message[2]
    finally:
        for reader, (_, process) in running.items():
            process.terminate()
            process.join()
            reader.close()
    for chain in range(chains):
        for text, category in caught[chain]:
            warnings.warn(f"{text} (chain {chain})", category, stacklevel=3)
    return [results[chain] for chain in range(chains)]


def _receive(reader: Connection, chain: int, process: Any) -> tuple[Any, ...]:
    """The next message of a worker; a worker that died without answering is an error."""
    try:
        return reader.recv()
    except EOFError:
        process.join()
        raise RuntimeError(
            f"chain {chain}: its worker exited (code {process.exitcode}) without a result"
        ) from None


def _worker(
    run_chain: Callable[[int, Any], tuple[Any, ...]],
    chain: int,
    writer: Connection,
    report_progress: bool,
) -> None:
    """Body of a worker process: run one chain and send back its result (or error),
    the warnings it raised and, if asked, its progress."""
    lock = threading.Lock()  # progress comes from the sampler's thread

    def send(message: tuple[Any, ...]) -> None:
        with lock:
            writer.send(message)

    def progress(chains: list[Any]) -> None:
        (state,) = chains
        send(("progress", state.finished_draws, state.total_draws, state.divergences))

    try:
        with warnings.catch_warnings(record=True) as caught:
            result = run_chain(chain, progress if report_progress else None)
        send(("done", result, [(str(w.message), w.category) for w in caught]))
    except BaseException:
        send(("error", traceback.format_exc()))
    finally:
        writer.close()
