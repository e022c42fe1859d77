"""The conda environment and the pip extras must list the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normal(requirement: str) -> str:
    """A requirement without spaces and case, e.g. ``pymc>=6.0``."""
    return re.sub(r"\s+", "", requirement).lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_side = {_normal(r) for r in project["dependencies"]}
    for extra in ("lab", "test", "dev"):
        pip_side |= {_normal(r) for r in project["optional-dependencies"][extra]}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_side = {_normal(d) for d in environment["dependencies"] if isinstance(d, str)}
    conda_side -= {"python>=3.12", "pip"}
    assert conda_side == pip_side
    pip_entries = [d for d in environment["dependencies"] if isinstance(d, dict)]
    assert pip_entries == [{"pip": ["-e ."]}]
    assert project["requires-python"] == ">=3.12"
