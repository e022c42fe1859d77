"""Writing a command's output files all or nothing.

Each file is first written to a hidden temporary file in its target folder and renamed
onto its name only when every file of the command has been written, so an error (a full
disk, an interrupted run) leaves neither a half-written file nor an overwritten earlier
result behind. A rename within one folder replaces the target in one step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from clvlab.errors import ClvlabError

Writer = Callable[[Path], object]
"""Writes one output to the path it is given (a temporary name that keeps the suffixes)."""


def write_files(writers: Mapping[Path, Writer]) -> None:
    """Write every file with its writer, then move them all into place.

    Parameters
    ----------
    writers : mapping
        Target path -> a function that writes the content to the path it is given.

    Raises
    ------
    ClvlabError
        When a file cannot be written (the message names it); no target is changed then.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for target, write in writers.items():
            staged.append((_reserve(target), target))
            try:
                write(staged[-1][0])
            except OSError as err:
                raise ClvlabError(f"cannot write '{target}': {err.strerror or err}") from err
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def _reserve(target: Path) -> Path:
    """Create an empty hidden file next to ``target``; its name ends with ``target``'s,
    so writers that choose a format or compression by suffix see the same suffixes."""
    while True:
        temporary = target.with_name(f".{secrets.token_hex(4)}.tmp.{target.name}")
        try:
            # 0o666 minus the umask: the same permissions as a file written directly.
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as err:
            raise ClvlabError(f"cannot write '{target}': {err.strerror or err}") from err
        return temporary
