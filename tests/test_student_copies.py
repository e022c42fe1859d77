"""`make student` writes copies of the notebooks without their solution cells."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

_spec = importlib.util.spec_from_file_location(
    "student_copies", ROOT / "tools" / "student_copies.py"
)
student_copies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_copies)


def _cell(kind: str, source: str, tags: list[str] | None = None) -> dict:
    cell = {"cell_type": kind, "metadata": {"tags": tags or []}, "source": source}
    if kind == "code":
        cell |= {"outputs": [{"output_type": "stream", "name": "stdout", "text": "42\n"}]}
    return cell


def test_solution_cells_are_removed_and_replaced_by_one_note():
    notebook = {
        "cells": [
            _cell("markdown", "## Exercises"),
            _cell("markdown", "## Solutions", ["solution"]),
            _cell("code", "print(42)", ["solution"]),
            _cell("markdown", "## References"),
            _cell("code", "print(43)", ["solution", "other"]),
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    student, removed = student_copies.strip_solutions(notebook)
    assert removed == 3
    sources = [cell["source"] for cell in student["cells"]]
    assert sources == ["## Exercises", student_copies.NOTE, "## References", student_copies.NOTE]
    assert len(notebook["cells"]) == 5  # the input is left as it was


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_with_exercises_has_tagged_solutions(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    has_exercises = any(
        c["cell_type"] == "markdown" and "Exercises" in "".join(c["source"]) for c in cells
    )
    solutions = [c for c in cells if student_copies.is_solution(c)]
    assert not has_exercises or any(c["cell_type"] == "code" for c in solutions)
    # every "Solutions" heading is itself tagged, so the student copy does not announce them
    for cell in cells:
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).lstrip("# ").startswith(
            "Solution"
        ):
            assert student_copies.is_solution(cell), path.name


@pytest.mark.slow
def test_make_student_writes_copies_that_run_without_solutions(tmp_path):
    """`make student` strips every notebook; 01 and 02 (no sampling) run top to bottom."""
    out = tmp_path / "student"
    result = subprocess.run(
        ["make", "-s", "student", f"STUDENT_DIR={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for copy in out.glob("*.ipynb"):
        cells = json.loads(copy.read_text(encoding="utf-8"))["cells"]
        assert not any(student_copies.is_solution(c) for c in cells), copy.name
        assert any(c["source"] == student_copies.NOTE for c in cells), copy.name

    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    for name in ("01_lifecycle_phases.ipynb", "02_transactions_to_rfm.ipynb"):
        notebook = nbformat.read(out / name, as_version=4)
        workdir = tmp_path / name
        workdir.mkdir()
        shutil.copy(out / name, workdir / name)
        client = nbclient.NotebookClient(
            notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": workdir}}
        )
        client.execute()  # raises CellExecutionError if a cell fails
        executed = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in executed), name
