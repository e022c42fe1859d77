"""Exceptions raised by clvlab for input the user can fix."""

from __future__ import annotations


class ClvlabError(Exception):
    """Base class of the errors clvlab raises for bad input; the message says the fix."""


class DataValidationError(ClvlabError, ValueError):
    """A transaction log or summary table fails a check (missing column, bad rows, ...)."""


class FitError(ClvlabError, RuntimeError):
    """A model fit failed in a way the data explain (e.g. they carry no information)."""


class ConvergenceWarning(UserWarning):
    """A fit may not have converged (sampler, optimiser or ADVI); estimates may be
    unreliable. The message says what to do."""
