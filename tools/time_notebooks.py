"""Measure each notebook's first-run and warm-run time (seconds), as the README reports them.

First run: a fresh kernel with an empty PyTensor compile directory and an empty numba cache,
as after a fresh install. Warm run: the same notebook again with those caches filled. The
notebooks are executed into a temporary directory; the committed files are not changed.

Usage: python tools/time_notebooks.py [notebooks/NB.ipynb ...]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(notebook: Path, env: dict[str, str], out_dir: Path) -> float:
    """Execute ``notebook`` with nbconvert and return the wall-clock seconds."""
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=600",
            "--output-dir",
            str(out_dir),
            str(notebook),
        ],
        check=True,
        env=env,
        cwd=notebook.parent,
        capture_output=True,
    )
    return time.perf_counter() - start


def main(paths: list[str]) -> None:
    notebooks = [Path(p).resolve() for p in paths] or sorted(
        Path("notebooks").resolve().glob("*.ipynb")
    )
    print("| notebook | first run (s) | warm run (s) |\n|---|---|---|")
    for notebook in notebooks:
        with tempfile.TemporaryDirectory() as tmp:
            cache, out = Path(tmp, "cache"), Path(tmp, "out")
            env = dict(
                os.environ,
                PYTENSOR_FLAGS=f"base_compiledir={cache / 'pytensor'}",
                NUMBA_CACHE_DIR=str(cache / "numba"),
            )
            first = run_once(notebook, env, out)
            warm = run_once(notebook, env, out)
        print(f"| `{notebook.stem}` | {first:.0f} | {warm:.0f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
