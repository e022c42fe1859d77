"""Tests for ``clvlab.cli.output``: outputs are written all or nothing."""

from __future__ import annotations

import os
import stat

import pytest

from clvlab.cli.output import write_files
from clvlab.errors import ClvlabError


def test_files_appear_only_when_all_are_written(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv.gz"
    first.write_text("earlier\n")
    seen = []

    def write_first(path):
        seen.append(path)
        path.write_text("new\n")

    def write_second(path):
        seen.append(path)
        assert path.name.endswith(".b.csv.gz")  # suffixes kept for writers that infer them
        assert first.read_text() == "earlier\n"  # nothing is moved before all are written
        path.write_text("b\n")

    write_files({first: write_first, second: write_second})
    assert first.read_text() == "new\n" and second.read_text() == "b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv.gz"]
    assert all(p.parent == tmp_path for p in seen)


def test_a_failing_writer_changes_nothing(tmp_path):
    target, other = tmp_path / "a.csv", tmp_path / "b.csv"
    target.write_text("earlier\n")

    def half_then_fail(path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(ClvlabError, match=r"cannot write '.*b\.csv': No space left on device"):
        write_files({target: lambda path: path.write_text("new\n"), other: half_then_fail})
    assert target.read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # no temporary files


def test_permissions_as_for_a_file_written_directly(tmp_path):
    write_files({tmp_path / "a.csv": lambda path: path.write_text("x")})
    (tmp_path / "direct.csv").write_text("x")
    mode = stat.S_IMODE(os.stat(tmp_path / "a.csv").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "direct.csv").st_mode)
