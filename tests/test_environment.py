"""The declared dependencies: the conda environment and the pip extras list the same, and
every package that clvlab, its tests and its notebooks import is among them."""

import ast
import functools
import json
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _normal(requirement: str) -> str:
    """A requirement without spaces and case, e.g. ``pymc>=6.0``."""
    return re.sub(r"\s+", "", requirement).lower()


def _name(requirement: str) -> str:
    """The distribution name of a requirement, normalised (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.\-]+", requirement).group()).lower()


def test_environment_yml_matches_pyproject():
    pip_side = {_normal(r) for r in PROJECT["dependencies"]}
    for extra in ("lab", "test", "dev"):
        pip_side |= {_normal(r) for r in PROJECT["optional-dependencies"][extra]}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_side = {_normal(d) for d in environment["dependencies"] if isinstance(d, str)}
    conda_side -= {"python>=3.12", "pip"}
    assert conda_side == pip_side
    pip_entries = [d for d in environment["dependencies"] if isinstance(d, dict)]
    assert pip_entries == [{"pip": ["-e ."]}]
    assert PROJECT["requires-python"] == ">=3.12"


def _sources(folder: str) -> list[str]:
    """Python code of the ``.py`` files, or of the notebooks' code cells (no magics)."""
    if folder != "notebooks":
        return [path.read_text() for path in sorted((ROOT / folder).rglob("*.py"))]
    cells = []
    for path in sorted((ROOT / folder).glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()
                cells.append(
                    "\n".join(ln for ln in lines if not ln.lstrip().startswith(("%", "!")))
                )
    return cells


def _imported_modules(sources: list[str]) -> set[str]:
    """Top-level names of the modules imported (absolute imports only)."""
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.partition(".")[0])
    return names - set(sys.stdlib_module_names) - {"clvlab"}


@functools.cache
def _distributions() -> dict[str, list[str]]:
    """Installed distributions by the top-level module they provide."""
    return packages_distributions()


# src/ may import PySpark only on the --engine spark path, declared in the spark extra.
@pytest.mark.parametrize(
    ("folder", "extras"), [("src", ["spark"]), ("tests", ["test"]), ("notebooks", ["lab"])]
)
def test_every_imported_package_is_declared(folder, extras):
    declared = {_name(r) for r in PROJECT["dependencies"]}
    for extra in extras:
        declared |= {_name(r) for r in PROJECT["optional-dependencies"][extra]}
    distributions = _distributions()
    missing = {}
    for module in sorted(_imported_modules(_sources(folder))):
        names = {_name(d) for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(names)
    assert missing == {}, f"imported in {folder}/, not declared in pyproject.toml: {missing}"
