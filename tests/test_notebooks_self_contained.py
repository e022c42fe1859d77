"""The notebooks refer only to files inside the repository (a student's clone holds them all)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# absolute paths and links that climb out of the repository (a student's clone lacks them)
OUTSIDE = re.compile(r"(?<![\w.])/(?:work|home|root|tmp)/|\.\./\.\./")
LINK = re.compile(r"\]\((\.\./[^)#\s]+)")


def _text(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_reference_outside_the_repository(path):
    text = _text(path)
    found = OUTSIDE.search(text)
    assert found is None, f"{path.name} refers to {found.group()!r}, outside the repository"
    for target in LINK.findall(text):
        assert (path.parent / target).resolve().is_file(), f"{path.name}: broken link {target}"
