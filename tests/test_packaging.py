"""Packaging: the data sets are real files, once in ``data/``, and every wheel carries them.

The wheel is built the way ``python -m build`` does it (a source distribution, then the
wheel from that), offline, with the setuptools already installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_FILES = sorted(p.name for p in (ROOT / "data").iterdir() if not p.name.startswith("."))
# What a source tree needs to build; the copy keeps build artefacts out of the checkout.
SOURCE = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "src", "data",
          "notebooks"]  # fmt: skip

LOADERS = """
import clvlab, clvlab.datasets as d, clvlab.lifecycle as lifecycle
print(clvlab.__file__)
print(d.data_path("cdnow_transactions.csv"))
assert len(d.load_cdnow()) == 6919 and len(d.load_cdnow_summary()) == 2357
assert d.load_donations()["weights"].sum() == 11104 and len(d.load_sbg_retention()) > 0
assert len(d.load_grocery()) == 10483 and d.load_apparel()["customer_id"].nunique() == 600
assert len(d.load_apparel(covariates=True)) == 600 and len(lifecycle.load_catalog().frameworks)
import clvlab.report as report
assert report.template_path().parent.name == "templates", report.template_path()
"""


def test_the_repository_tracks_no_symlinks():
    # A clone with symlinks off (the Windows default) turns a symlink into a text file.
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    staged = subprocess.run(
        ["git", "ls-files", "--stage"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert [line.split("\t")[-1] for line in staged.splitlines() if line.startswith("120000")] == []


def test_the_checkout_reads_the_top_level_data_folder():
    from clvlab import datasets

    if not (ROOT / "src" / "clvlab" / "datasets.py").samefile(datasets.__file__):
        pytest.skip("clvlab is imported from an installed wheel, not this checkout")
    assert datasets.data_path("cdnow_transactions.csv") == ROOT / "data" / "cdnow_transactions.csv"


def _build(backend_call: str, source: Path, out: Path) -> Path:
    """Run ``setuptools.build_meta.<backend_call>(out)`` in ``source``; the built file."""
    code = f"from setuptools import build_meta; print(build_meta.{backend_call}({str(out)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=source, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_the_wheel_carries_every_data_file_and_its_loaders_work(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    (tmp_path / "dist").mkdir()
    sdist = _build("build_sdist", source, tmp_path / "dist")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
        members = {
            Path(name).relative_to(sdist.name.removesuffix(".tar.gz")).as_posix()
            for name in archive.getnames()
            if "/" in name
        }
    assert {f"data/{name}" for name in DATA_FILES} <= members
    assert "notebooks/11_your_data_template.ipynb" in members
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    wheel = _build("build_wheel", unpacked, tmp_path / "dist")

    with zipfile.ZipFile(wheel) as archive:
        for name in DATA_FILES:
            assert archive.read(f"clvlab/data/{name}") == (ROOT / "data" / name).read_bytes()
        template = "notebooks/11_your_data_template.ipynb"
        assert archive.read(template.replace("notebooks", "clvlab/templates")) == (
            (ROOT / template).read_bytes()
        )
        archive.extractall(tmp_path / "site")
    done = subprocess.run(
        [sys.executable, "-c", LOADERS],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    module, data = (Path(line) for line in done.stdout.split())
    site = tmp_path / "site" / "clvlab"
    assert module == site / "__init__.py" and data == site / "data" / "cdnow_transactions.csv"
