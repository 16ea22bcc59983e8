"""``msproxy show`` streaming: --filter, standard input, --follow, and progress."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from msproxy.__main__ import main
from msproxy.capture import read_capture
from msproxy.inspect import Capture
from msproxy.inspect.show import show_lines, stream_lines
from msproxy.inspect.tail import follow_lines, progress_lines
from msproxy.view import filterlang

from .conftest import MD5_CHAT, TWN_LOGIN


def test_stream_lines_equal_the_in_memory_lines(chat: Capture) -> None:
    assert list(stream_lines(read_capture(MD5_CHAT))) == list(show_lines(chat))


@pytest.mark.parametrize(
    "expression",
    ["not cmd PNG,QNG,CHL,QRY", "role SB and dir c2s", "error or redirect", "handle x@y.z"],
)
def test_filter_option_prints_what_the_filter_selects(
    capsys: pytest.CaptureFixture[str], chat: Capture, expression: str
) -> None:
    assert main(["show", str(MD5_CHAT), "--filter", expression]) == 0
    selector = filterlang.compile(expression)
    assert capsys.readouterr().out.splitlines() == list(show_lines(chat, selector))


def test_shorthands_join_the_filter_with_and(
    capsys: pytest.CaptureFixture[str], chat: Capture
) -> None:
    assert main(["show", str(MD5_CHAT), "--filter", "not dir c2s", "--conn", "SB#3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [r for r in chat.records if r["conn"] == 3 and r.get("dir") != "c2s"]
    assert expected
    assert len(lines) == len(expected)
    assert not any(" -> " in line for line in lines)


def test_handle_selects_the_first_lines_of_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    """Read from a file, the dispatch connection's lines before its USR are alice's too."""
    assert main(["show", str(TWN_LOGIN), "--filter", "handle alice@example.com"]) == 0
    everything = [r for r in read_capture(TWN_LOGIN) if r["type"] != "header"]
    assert len(capsys.readouterr().out.splitlines()) == len(everything)


def test_bad_filter_points_at_the_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(MD5_CHAT), "--filter", "cmd MSG and dir sideways"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "msproxy show: error: --filter: 'dir' takes c2s or s2c, not 'sideways' (column 17)"
    )
    assert err[2].index("^") == err[1].index("sideways")


def test_dash_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["show", str(MD5_CHAT)]) == 0
    from_file = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(MD5_CHAT.read_bytes())))
    assert main(["show", "-"]) == 0
    assert capsys.readouterr().out == from_file


def test_follow_lines_waits_for_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "growing.jsonl"
    path.write_bytes(b"one\ntw")
    later = [b"o\nthree\n", b"fou", b"r\n"]
    idles = 0

    def idle() -> bool:
        nonlocal idles
        idles += 1
        if not later:
            return False
        with open(path, "ab") as file:
            file.write(later.pop(0))
        return True

    with open(path, "rb") as file:
        assert list(follow_lines(file, idle)) == [b"one\n", b"two\n", b"three\n", b"four\n"]
    assert idles == 4


def test_show_follow_prints_records_written_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capture grows while show --follow reads it; Ctrl-C ends it with status 0."""
    lines = MD5_CHAT.read_bytes().splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(lines[:3]))
    rest = lines[3:]

    def idle() -> bool:
        if not rest:
            raise KeyboardInterrupt
        with open(path, "ab") as file:
            file.write(rest.pop(0)[:-1])  # a line in two writes
            file.flush()
            file.write(b"\n")
        return True

    monkeypatch.setattr("msproxy.inspect.clitools.sleeper", lambda: idle)
    assert main(["show", str(path), "--follow"]) == 0
    followed = capsys.readouterr().out
    assert main(["show", str(MD5_CHAT)]) == 0
    assert followed == capsys.readouterr().out
    assert len(followed.splitlines()) == len(lines) - 1  # every record but the header


def test_progress_lines_report_and_clear() -> None:
    out = io.StringIO()
    ticks = iter(float(n) for n in range(100_000))
    data = [b"x" * 99 + b"\n"] * 3000
    assert list(progress_lines(data, 300_000, out, "reading c", clock=lambda: next(ticks))) == data
    text = out.getvalue()
    assert "\rreading c: 0% of 0.3 MB" in text
    assert "\rreading c: 68% of 0.3 MB" in text
    assert text.endswith("\r\x1b[K")
    quiet = io.StringIO()
    assert list(progress_lines(data[:10], 1000, quiet, "r", clock=lambda: 0.0)) == data[:10]
    assert quiet.getvalue() == ""
