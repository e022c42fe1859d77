"""The Makefile finds a Python >= 3.12 itself, and says clearly when there is none."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool_dir(tmp_path: Path) -> Path:
    """A bin folder with make's needs and a python3 that is too old (3.11)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "bash", "sh", "ls", "sort", "env"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    old = bin_dir / "python3"
    old.write_text("#!/bin/sh\n# pretends to be Python 3.11: fails the version check\nexit 1\n")
    old.chmod(0o755)
    return bin_dir


def test_no_suitable_python_gives_a_clear_message(tmp_path):
    env = {
        "PATH": str(_tool_dir(tmp_path)),
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
    }
    result = subprocess.run(
        ["make", "-s", "env", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "clvlab needs Python >= 3.12, and none was found on PATH or through pyenv" in (
        result.stderr
    )
    assert "make PYTHON=/path/to/python3.12 test" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_pyenv_versions_are_searched(tmp_path):
    """With nothing on PATH, a 3.12 under $PYENV_ROOT/versions is found."""
    fake = tmp_path / "pyenv" / "versions" / "3.12.9" / "bin"
    fake.mkdir(parents=True)
    (fake / "python3").write_text("#!/bin/sh\nexit 0\n")
    (fake / "python3").chmod(0o755)
    env = {
        "PATH": str(_tool_dir(tmp_path)),
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
    }
    result = subprocess.run(
        ["make", "-s", "which-python"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == str(fake / "python3")
