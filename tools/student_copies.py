"""Write student copies of the course notebooks: every cell tagged ``solution`` removed.

The notebooks in ``notebooks/`` are the lecturer's version: the exercises are followed by
solution cells (code and markdown) that carry the cell tag ``solution``. A student copy is
the same notebook without those cells, so neither the answers nor their outputs are shown,
and "Run All" never runs them. In place of the first removed cell of each run of solution
cells stands one markdown note that says so. Everything else is copied unchanged, outputs
included.

Usage::

    python tools/student_copies.py notebooks student   # what `make student` runs

writes ``student/<name>.ipynb`` for every ``notebooks/*.ipynb`` (the folder is ignored by
git and lies outside ``notebooks/``, so nbval never collects the copies).
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SOLUTION_TAG = "solution"
NOTE = (
    "*The solutions are not part of the student copy. Your lecturer has the full notebook; "
    "`make student` in the clvlab repository makes this copy from it.*"
)


def is_solution(cell: dict[str, Any]) -> bool:
    """True if the cell carries the ``solution`` tag."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def strip_solutions(notebook: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Return a copy of ``notebook`` without solution cells, and how many were removed.

    Each run of consecutive solution cells is replaced by one markdown cell holding
    :data:`NOTE`; the input is left untouched.
    """
    student = copy.deepcopy(notebook)
    cells: list[dict[str, Any]] = []
    removed = 0
    for cell in student["cells"]:
        if not is_solution(cell):
            cells.append(cell)
            continue
        removed += 1
        if not cells or cells[-1].get("metadata", {}).get("tags") != ["student_note"]:
            note_id = f"student-note-{len(cells)}"
            cells.append(
                {
                    "cell_type": "markdown",
                    "id": note_id,
                    "metadata": {"tags": ["student_note"]},
                    "source": NOTE,
                }
            )
    student["cells"] = cells
    return student, removed


def write_student_copies(sources: Iterable[Path], out_dir: Path) -> dict[str, int]:
    """Write one student copy per notebook into ``out_dir``.

    Returns
    -------
    dict
        Notebook file name -> number of solution cells removed. A notebook with
        exercises but no tagged solution is written too (with 0), so the count shows it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    removed = {}
    for source in sorted(sources):
        notebook = json.loads(source.read_text(encoding="utf-8"))
        student, removed[source.name] = strip_solutions(notebook)
        text = json.dumps(student, indent=1, ensure_ascii=False) + "\n"
        (out_dir / source.name).write_text(text, encoding="utf-8")
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", type=Path, help="folder with the full notebooks")
    parser.add_argument("out", type=Path, help="folder for the student copies")
    args = parser.parse_args(argv)
    sources = list(args.notebooks.glob("*.ipynb"))
    if not sources:
        parser.error(f"no notebooks (*.ipynb) in {args.notebooks}")
    for name, count in write_student_copies(sources, args.out).items():
        print(f"{args.out / name}: {count} solution cell(s) removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
