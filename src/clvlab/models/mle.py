"""Maximum likelihood on the unconstrained parameter vector, with its own checks.

The objective is the negative log-likelihood of the compressed data as a function of the
unconstrained vector :math:`u` (:class:`clvlab.models.params.ParameterLayout`: log, logit
or identity per parameter). L-BFGS-B minimises it (analytic gradient where the model
provides ``_log_likelihood_gradient``, else finite differences); one Newton step with the
numerical Hessian :math:`H` of the objective in :math:`u` polishes the optimum, and the
delta method gives the standard errors,
:math:`\\mathrm{se}(\\theta_j) = |d\\theta_j/du_j| \\sqrt{(H^{-1})_{jj}}`.

The asymptotic covariance :math:`\\Sigma = H^{-1}` of the unconstrained estimate
:math:`\\hat u` is kept (:attr:`MLEResult.covariance`). :func:`normal_approximation_draws`
samples parameter sets from :math:`u \\sim N(\\hat u, \\Sigma)` and maps them back to the
constrained scale, :math:`\\theta = g^{-1}(u)`: the standard Laplace (asymptotic normal)
approximation of the sampling distribution of the MLE, on the scale where it is most
nearly normal. Functions of the parameters evaluated on these draws (e.g. the CLV in
:mod:`clvlab.clv`) get intervals that agree to first order with the delta method, without
deriving the function's gradient.

The fit reports its own failure (:func:`maximize_likelihood` warns with
:class:`clvlab.diagnostics.ConvergenceWarning`): the optimiser's status, the gradient at
the end, estimates that ran to the edge of their support (the likelihood keeps rising
towards it, so the data do not pin the parameter) and standard errors that are not
finite. A likelihood that does not depend on the parameters at all raises
:class:`clvlab.errors.FitError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.optimize
from threadpoolctl import threadpool_limits

from clvlab.errors import ConvergenceWarning, FitError
from clvlab.models.compression import CompressedData

if TYPE_CHECKING:
    from clvlab.models.base import CLVModel
    from clvlab.models.params import ParameterLayout

__all__ = [
    "MLE_OPTIONS",
    "MLEResult",
    "hessian_from_gradient",
    "maximize_likelihood",
    "negative_log_likelihood",
    "normal_approximation_draws",
    "numerical_gradient",
    "numerical_hessian",
]

#: Options of scipy's L-BFGS-B that ``fit(method="mle", **options)`` accepts.
MLE_OPTIONS = ("maxiter", "maxfun", "maxcor", "ftol", "gtol", "eps", "maxls")
#: Largest gradient (of the negative log-likelihood in the unconstrained vector) at an
#: optimum; larger means the optimiser stopped early.
GRADIENT_TOLERANCE = 1e-3

Objective = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class MLEResult:
    """Outcome of :func:`maximize_likelihood`.

    Attributes
    ----------
    point : dict
        Estimates by parameter name (floats, or arrays for vector parameters).
    standard_errors : pandas.Series or None
        Delta-method standard errors, one per element of the vector (labels such as
        ``"gamma_alpha[age]"``); ``None`` with ``uncertainty=False``.
    covariance : pandas.DataFrame or None
        Asymptotic covariance :math:`H^{-1}` of the *unconstrained* vector :math:`\\hat u`
        (log, logit or identity scale per element; rows and columns labelled as
        ``standard_errors``); NaN where the Hessian is singular; ``None`` with
        ``uncertainty=False``.
    log_likelihood : float
        At the estimates.
    result : scipy.optimize.OptimizeResult
        L-BFGS-B's result.
    gradient : numpy.ndarray or None
        Gradient of the objective at the estimates (after the Newton step).
    at_boundary : dict of str to float
        Estimates that ran to the edge of their support, by label
        (:meth:`~clvlab.models.params.ParameterLayout.at_edge`).
    """

    point: dict[str, Any]
    standard_errors: pd.Series | None
    covariance: pd.DataFrame | None
    log_likelihood: float
    result: Any
    gradient: np.ndarray | None
    at_boundary: dict[str, float]


def negative_log_likelihood(
    model: CLVModel, compressed: CompressedData
) -> tuple[Objective, Objective | None]:
    """Return ``(f, grad)``: the negative log-likelihood of the unconstrained vector and
    its analytic gradient, or ``grad=None`` if the model has no analytic gradient."""
    layout = model.layout
    data, weights = compressed.values, compressed.weights

    def objective(u: np.ndarray) -> float:
        params = layout.link(layout.unpack(u), data)
        with np.errstate(all="ignore"):
            value = -float(weights @ model._log_likelihood(data, params, np))
        return value if np.isfinite(value) else np.inf

    probe_rows = {k: v[:1] for k, v in data.items()}
    probe = layout.link(layout.unpack(layout.pack(model._initial_values(data))), probe_rows)
    if model._log_likelihood_gradient(probe_rows, probe) is None:
        return objective, None

    def gradient(u: np.ndarray) -> np.ndarray:
        params = layout.unpack(u)
        linked = layout.link(params, data)
        with np.errstate(all="ignore"):
            per_row = model._log_likelihood_gradient(data, linked)
            grad = -layout.link_gradient(per_row, params, linked, data, weights)
        return np.where(np.isfinite(grad), grad, 0.0)

    return objective, gradient


def maximize_likelihood(
    model: CLVModel,
    compressed: CompressedData,
    options: Mapping[str, Any],
    *,
    uncertainty: bool = True,
) -> MLEResult:
    """Maximum likelihood of ``model`` on ``compressed`` data.

    ``uncertainty=False`` skips the Hessian (and the Newton polish that reuses it) and the
    checks: the result then only serves as a starting point (MAP, ADVI).

    Warns
    -----
    ConvergenceWarning
        If the optimiser stopped before an optimum, an estimate ran to the edge of its
        support, or a standard error is not finite; the message says what to do.

    Raises
    ------
    FitError
        If the log-likelihood does not depend on the parameters (the data carry no
        information), or is not finite at the starting values.
    """
    layout = model.layout
    objective, gradient = negative_log_likelihood(model, compressed)
    u0 = layout.pack(model._initial_values(compressed.values))
    if not np.isfinite(objective(u0)):
        raise FitError(
            f"the log-likelihood of {type(model).__name__} is not finite at the starting "
            "values; check the data for impossible rows."
        )
    # Without an analytic gradient scipy uses forward differences (cheapest), whose
    # noise rules out tight tolerances; the Newton step below then polishes.
    tolerances = {"ftol": 1e-13, "gtol": 1e-7} if gradient is not None else {}
    # Multithreaded BLAS on L-BFGS-B's tiny matrices costs ~3 ms per iteration on a busy
    # machine (threads spin), ten times the whole likelihood evaluation.
    with threadpool_limits(1, user_api="blas"):
        result = scipy.optimize.minimize(
            objective,
            u0,
            jac=gradient,
            method="L-BFGS-B",
            options={"maxiter": 1000, **tolerances, **options},
        )
        u, covariance, grad = result.x, None, None
        if uncertainty:
            u, covariance, grad = _polish(objective, gradient, u)
    point = layout.unpack(u)
    labels = layout.labels()
    fit = MLEResult(
        point=point,
        standard_errors=None
        if covariance is None
        else pd.Series(layout.slope(point) * np.sqrt(np.diag(covariance)), index=labels, name="se"),
        covariance=None
        if covariance is None
        else pd.DataFrame(covariance, index=labels, columns=labels),
        log_likelihood=-objective(u),
        result=result,
        gradient=grad,
        at_boundary=layout.at_edge(point),
    )
    if uncertainty:
        _check(model, fit, u0, objective)
    return fit


def _polish(
    objective: Objective, gradient: Objective | None, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Newton step, and the covariance :math:`H^{-1}` of ``u`` (NaN where :math:`H` is
    singular), from the numerical Hessian."""
    if gradient is None:
        hessian = numerical_hessian(objective, u)
        grad = numerical_gradient(objective, u)
    else:
        hessian = hessian_from_gradient(gradient, u)
        grad = gradient(u)
    # One Newton step with the Hessian (needed anyway for the standard errors) makes the
    # optimum precise even when L-BFGS-B stopped early.
    with np.errstate(all="ignore"):
        step = np.linalg.lstsq(hessian, grad, rcond=None)[0]
    if np.all(np.isfinite(step)) and objective(u - step) <= objective(u):
        u = u - step
        grad = numerical_gradient(objective, u) if gradient is None else gradient(u)
    with np.errstate(all="ignore"):
        try:
            covariance = np.linalg.inv(hessian)
        except np.linalg.LinAlgError:
            covariance = np.full(hessian.shape, np.nan)
        # A negative variance (a saddle, not a maximum) is no variance: NaN, as singular.
        negative = np.diag(covariance) < 0
        covariance[:, negative] = np.nan
        covariance[negative, :] = np.nan
    return u, covariance, grad


def normal_approximation_draws(
    layout: ParameterLayout,
    point: Mapping[str, Any],
    covariance: pd.DataFrame | np.ndarray,
    n_draws: int,
    random_seed: int | np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """Parameter sets drawn from the normal approximation of the MLE.

    :math:`u^{(k)} \\sim N(\\hat u, \\Sigma)` on the unconstrained scale (:math:`\\hat u`
    the packed ``point``, :math:`\\Sigma` the ``covariance`` of
    :attr:`MLEResult.covariance`), mapped back with each parameter's inverse transform
    (:math:`e^u` for a positive parameter, the logistic function for a probability): the
    Laplace approximation of the module documentation. Draws stay inside the support.

    Parameters
    ----------
    layout : ParameterLayout
        The model's layout (order of :math:`u`).
    point : mapping
        The estimates by parameter name.
    covariance : pandas.DataFrame or numpy.ndarray
        Covariance of :math:`\\hat u`, in the layout's order.
    n_draws : int
        Number of parameter sets.
    random_seed : int or numpy.random.Generator, optional
        Makes the draws reproducible.

    Returns
    -------
    dict of str to numpy.ndarray
        Draws by parameter name, shape ``(n_draws, *shape)``.

    Raises
    ------
    ValueError
        If the covariance is not finite (a singular Hessian) or ``n_draws`` < 1.
    """
    sigma = np.asarray(covariance, dtype=float)
    if not np.all(np.isfinite(sigma)):
        raise ValueError(
            "the covariance of the estimates is not finite (the Hessian is singular: the "
            "likelihood is flat in some direction), so there is no normal approximation."
        )
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws!r}.")
    rng = np.random.default_rng(random_seed)
    # Eigen-decomposition: also valid for a covariance that is only semi-definite.
    u = rng.multivariate_normal(layout.pack(point), sigma, size=n_draws, method="eigh")
    sets = [layout.unpack(row) for row in u]
    return {name: np.stack([np.asarray(s[name], float) for s in sets]) for name in layout.names}


def _check(model: CLVModel, fit: MLEResult, u0: np.ndarray, objective: Objective) -> None:
    """Warn about (or raise for) a fit that did not reach a proper optimum."""
    name = type(model).__name__
    unmoved = fit.result.nit == 0 and objective(fit.result.x) == objective(u0)
    if unmoved and not np.any(fit.gradient):
        raise FitError(
            f"the log-likelihood of {name} does not change with the parameters "
            f"(log-likelihood {fit.log_likelihood:.2f} everywhere): the data carry no "
            "information about them. Check the calibration period (e.g. T > 0) and that "
            "customers made repeat purchases."
        )
    if fit.at_boundary:
        values = ", ".join(f"{label} = {value:.3g}" for label, value in fit.at_boundary.items())
        warnings.warn(
            f"{name} maximum likelihood: {values} ran to the edge of the parameter range; "
            "the likelihood keeps rising towards it, so the data do not pin these "
            "parameters (e.g. a gamma shape and rate growing together mean no heterogeneity "
            "between customers). Estimates and standard errors there are not meaningful: "
            "use a simpler model, or method='nuts' or 'map' where the priors hold them.",
            ConvergenceWarning,
            stacklevel=5,
        )
    elif fit.gradient is not None and np.max(np.abs(fit.gradient)) > GRADIENT_TOLERANCE:
        warnings.warn(
            f"{name} maximum likelihood did not converge ({fit.result.message}; largest "
            f"gradient {np.max(np.abs(fit.gradient)):.2g} after {fit.result.nit} "
            "iterations): the estimates are not an optimum. Refit with more iterations "
            "(fit(..., method='mle', maxiter=5000)), or check the data.",
            ConvergenceWarning,
            stacklevel=5,
        )
    if fit.standard_errors is not None and not np.all(np.isfinite(fit.standard_errors)):
        bad = list(fit.standard_errors.index[~np.isfinite(fit.standard_errors)])
        warnings.warn(
            f"{name} maximum likelihood: the standard errors of {bad} are not finite (the "
            "Hessian is singular there: the likelihood is flat in some direction). Treat "
            "those estimates as unidentified.",
            ConvergenceWarning,
            stacklevel=5,
        )


def numerical_gradient(f: Objective, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``f`` at ``x``."""
    grad = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def numerical_hessian(f: Objective, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x`` from function values."""
    n = x.size
    step = np.eye(n) * h
    f0 = f(x)
    hessian = np.empty((n, n))
    for i in range(n):
        hessian[i, i] = (f(x + step[i]) - 2 * f0 + f(x - step[i])) / h**2
        for j in range(i + 1, n):
            hessian[i, j] = hessian[j, i] = (
                f(x + step[i] + step[j])
                - f(x + step[i] - step[j])
                - f(x - step[i] + step[j])
                + f(x - step[i] - step[j])
            ) / (4 * h**2)
    return hessian


def hessian_from_gradient(gradient: Objective, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of ``gradient`` at ``x``, symmetrised."""
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        columns.append((gradient(x + e) - gradient(x - e)) / (2 * h))
    hessian = np.column_stack(columns)
    return (hessian + hessian.T) / 2
