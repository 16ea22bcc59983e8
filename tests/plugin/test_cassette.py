"""Where cassettes live and when they are recorded (msproxy/fixtures/cassette.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from msproxy.fixtures import CassetteMissing, plan_cassette
from msproxy.fixtures.cassette import cassette_path


def test_a_cassette_is_named_after_the_module_and_the_test(tmp_path: Path) -> None:
    path = cassette_path(tmp_path / "cassettes", Path("tests/test_bot.py"), "test_x[MSNP7-a/b]")
    assert path == tmp_path / "cassettes" / "test_bot" / "test_x-MSNP7-a-b-.jsonl"


@pytest.mark.parametrize(
    ("mode", "exists", "recording"),
    [("once", False, True), ("once", True, False), ("all", True, True), ("none", True, False)],
)
def test_record_modes(tmp_path: Path, mode: str, exists: bool, recording: bool) -> None:
    path = tmp_path / "mod" / "test.jsonl"
    if exists:
        path.parent.mkdir()
        path.write_text("recorded\n")
    plan = plan_cassette(path, mode, "test_mod.py::test")
    assert plan.recording is recording
    assert plan.mode == mode
    assert path.parent.is_dir()


def test_none_without_a_cassette_names_the_record_command(tmp_path: Path) -> None:
    with pytest.raises(CassetteMissing, match=r"pytest --msnp-record-mode=once 'm.py::t\[1\]'"):
        plan_cassette(tmp_path / "t.jsonl", "none", "m.py::t[1]")
    with pytest.raises(ValueError, match="unknown record mode 'sometimes'"):
        plan_cassette(tmp_path / "t.jsonl", "sometimes", "m.py::t")


def test_only_a_passing_recording_replaces_the_cassette(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text("old\n")
    plan = plan_cassette(path, "all", "m.py::t")
    plan.partial.write_text("new\n")
    plan.keep(passed=False)
    assert path.read_text() == "old\n"
    assert not plan.partial.exists()
    plan.partial.write_text("new\n")
    plan.keep(passed=True)
    assert path.read_text() == "new\n"
    assert not plan.partial.exists()
