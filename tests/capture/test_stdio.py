"""``-`` where a capture file is expected: standard input for ``show``, ``summary`` and
``convert``, standard output for ``convert``'s OUTPUT."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from msproxy.__main__ import main

from .make_samples import SAMPLES

BURST = SAMPLES / "msnp12-sb-burst.jsonl"  # version 2, with run records


@contextmanager
def stdin_from(path: Path) -> Iterator[None]:
    """Standard input reading ``path`` (what ``-`` reads: ``sys.stdin``), restored
    afterwards."""
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(path.read_bytes()))
    try:
        yield
    finally:
        sys.stdin = saved


def test_convert_to_standard_output_is_what_it_writes_to_a_file(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    for version in ("1", "2"):
        written = tmp_path / f"v{version}.jsonl"
        assert main(["convert", str(BURST), str(written), "--capture-version", version]) == 0
        assert main(["convert", str(BURST), "-", "--capture-version", version]) == 0
        assert capsysbinary.readouterr().out == written.read_bytes()


def test_show_summary_and_convert_read_standard_input(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    for argv in (["show"], ["summary"], ["show", "--json"], ["convert", "OUT"]):
        argv = [str(tmp_path / "a.jsonl") if a == "OUT" else a for a in argv]
        expected_argv = [argv[0], str(BURST), *argv[1:]]
        if argv[0] == "convert":
            expected_argv[-1] = str(tmp_path / "b.jsonl")
        assert main(expected_argv) == 0
        expected = capsysbinary.readouterr().out
        with stdin_from(BURST):
            assert main([argv[0], "-", *argv[1:]]) == 0
        assert capsysbinary.readouterr().out == expected
        if argv[0] == "convert":
            assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_standard_input_is_named_once_and_read_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with stdin_from(BURST):
        assert main(["diff", "-", "-"]) == 2
    assert capsys.readouterr().err == (
        "msproxy diff: error: standard input (-) can be A or B, not both\n"
    )
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a capture\n")
    for argv in (["show", "-"], ["summary", "-"], ["diff", "-", str(BURST)]):
        with stdin_from(junk):
            assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == (
            f"msproxy {argv[0]}: error: <stdin>: not an msnp-capture file "
            "(its first line is not JSON)\n"
        )
