"""Exceptions raised by clvlab for input the user can fix."""

from __future__ import annotations


class ClvlabError(Exception):
    """Base class of the errors clvlab raises for bad input; the message says the fix."""


class DataValidationError(ClvlabError, ValueError):
    """A transaction log or summary table fails a check (missing column, bad rows, ...)."""
