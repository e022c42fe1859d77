"""nutpie's NUTS sampler on a PyMC model's density compiled by PyTensor itself.

``nutpie.compile_pymc_model`` wraps the PyMC model's numba code in C callbacks of its own,
a compilation that is not cached and costs seconds per fit (3-4 s for BG/NBD on CDNOW).
Here the joint log-density and its gradient are one ordinary PyTensor function (PyTensor's
default back end: numba in PyTensor 3, with its on-disk cache in ``~/.pytensor``, so later
fits of the same model compile in about a second), handed to nutpie's Rust sampler as a
plain Python callable (:func:`nutpie.compiled_pyfunc.from_pyfunc`). The PyMC model stays
the single source of the density; only the sampler changes.

The callable holds Python's global interpreter lock, so chains sharing one process take
turns on one core. :func:`sample_chains` therefore runs each chain as its own
``nutpie.sample(chains=1)`` call, with a seed derived from the run's seed and the chain
index, in up to ``cores`` forked processes that inherit the compiled function: the draws
are the same whatever the number of cores.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["NUTPIE_PYFUNC", "chain_seeds", "compile_for_nutpie", "sample_chains"]

#: ``nuts_sampler`` name of this path: nutpie's sampler calling PyTensor's compiled density.
NUTPIE_PYFUNC = "nutpie-pyfunc"


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
    shapes = [np.shape(value) for value in expand_fn(x_start)]
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
    """NUTS chains of a compiled model, in parallel processes, reproducibly.

    Chain ``k`` is ``nutpie.sample(compiled, chains=1, seed=chain_seeds(seed, chains)[k])``
    (nutpie adapts step size and mass matrix per chain in any case), so its draws do not
    depend on ``cores`` or on which process runs it. With ``cores > 1`` on Linux, up to
    ``cores`` chains run at once, each in a process forked from this one: the compiled
    function is inherited, not recompiled. Warnings raised in a worker are re-issued here
    (tagged with the chain) and a worker's error is raised here as a :class:`RuntimeError`
    carrying its traceback. Elsewhere (no safe ``fork``: Windows, macOS), or with
    ``cores=1``, the chains run one after another in this process.

    Parameters
    ----------
    compiled : nutpie.compiled_pyfunc.PyFuncModel
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
        In-process: nutpie's bar for each chain in turn; in parallel: one bar over all
        chains' draws, fed by the workers.
    **kwargs
        Passed to :func:`nutpie.sample` (``target_accept``, ``adaptation``, ...).

    Returns
    -------
    posterior, sample_stats : xarray.Dataset
        Dimensions ``chain`` (coordinates ``0 .. chains - 1``) and ``draw`` first.
    """
    seeds = chain_seeds(seed, chains)
    parallel = cores > 1 and chains > 1 and sys.platform.startswith("linux")

    def run_chain(chain: int, progress: Callable[[Any], None] | None) -> tuple[Any, ...]:
        import nutpie

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
        results = _run_in_processes(run_chain, chains, cores, _Progress(progressbar, chains))
    else:
        results = [run_chain(chain, None) for chain in range(chains)]
    return tuple(_stack_chains([result[i] for result in results]) for i in range(2))


def _stack_chains(parts: list[xr.Dataset]) -> xr.Dataset:
    """Stack one dataset per chain along a new leading ``chain`` dimension."""
    stacked = xr.concat(parts, dim="chain", combine_attrs="override")
    return stacked.assign_coords(chain=np.arange(len(parts)))


class _Progress:
    """One progress bar over all chains' draws, updated from the workers' reports."""

    def __init__(self, enabled: bool, chains: int) -> None:
        self.enabled = enabled
        self.finished = [0] * chains
        self.divergences = [0] * chains
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress

            self.bar = Progress(*Progress.get_default_columns(), "{task.fields[divergences]}")
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
                        # The children only run the compiled function and start the
                        # sampler's threads themselves, after the fork.
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
