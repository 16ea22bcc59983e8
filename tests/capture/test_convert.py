"""``msproxy convert``: a version-2 capture written as version 1, and back."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from msproxy import __version__
from msproxy.__main__ import main
from msproxy.capture import read_capture, rebuild

from .conftest import MD5_CHAT, header, write_lines

OPEN = {
    "type": "open",
    "t": 1000.5,
    "conn": 1,
    "role": "SB",
    "client": "127.0.0.1:5",
    "upstream": "127.0.0.1:6",
    "parent": None,
    "via": None,
}
WIRE = b"MSG 1 N 5\r\nhelloPNG\r\nCAL 2 bob@example.com\r\n"
RUN = {"type": "run", "t": 1001.0, "conn": 1, "dir": "c2s", "data": WIRE.decode(), "count": 3}
BINARY = b"MSG 3 D 2\r\n\x00\x01MSG 4 D 1\r\n\x02"
RUN_B64 = {
    "type": "run",
    "t": 1002.0,
    "conn": 1,
    "dir": "c2s",
    "count": 2,
    "data_b64": "TVNHIDMgRCAyDQoAAU1TRyA0IEQgMQ0KAg==",
}
CLOSE = {"type": "close", "t": 1003.0, "conn": 1, "by": "client", "reason": "end of stream"}


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_runs_become_the_cmd_records_of_their_commands(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "v2.jsonl", [header(version=2, upstream="x:1"), OPEN, RUN, RUN_B64, CLOSE]
    )
    target = tmp_path / "v1.jsonl"
    assert main(["convert", str(source), str(target)]) == 0
    written = lines(target)
    assert written[0]["version"] == 1
    assert written[0]["upstream"] == "x:1"  # the header's fields are kept
    assert written[0]["started"] == 1000.0
    assert written[0]["converted"] == {"from_version": 2, "by": f"msproxy {__version__}"}
    assert [r["type"] for r in written[1:]] == ["open"] + ["cmd"] * 5 + ["close"]
    assert [r["cmd"] for r in written[2:7]] == ["MSG", "PNG", "CAL", "MSG", "MSG"]
    assert {r["t"] for r in written[2:5]} == {1001.0}
    assert written[5]["payload_b64"] == "AAE="
    # the same records as the reader makes of the original, the same bytes
    assert list(read_capture(target))[1:] == list(read_capture(source))[1:]
    assert b"".join(rebuild(r) for r in written) == WIRE + BINARY
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_version_2_copies_the_records(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "v2.jsonl", [header(version=2), OPEN, RUN, CLOSE])
    target = tmp_path / "copy.jsonl"
    assert main(["convert", "--capture-version", "2", str(source), str(target)]) == 0
    assert lines(target)[1:] == [OPEN, RUN, CLOSE]
    # a version-1 capture converts to version 1 unchanged, but for the header
    again = tmp_path / "again.jsonl"
    assert main(["convert", str(MD5_CHAT), str(again)]) == 0
    assert lines(again)[1:] == lines(MD5_CHAT)[1:]


def test_trouble_is_exit_status_2_and_leaves_no_half_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_run = {**RUN, "count": 4}
    source = write_lines(tmp_path / "bad.jsonl", [header(version=2), OPEN, RUN, bad_run, CLOSE])
    target = tmp_path / "out.jsonl"
    assert main(["convert", str(source), str(target)]) == 2
    err = capsys.readouterr().err
    assert "msproxy convert: error:" in err
    assert "line 4" in err
    assert "not written" in err
    assert not target.exists()
    # an existing output is never overwritten
    target.write_text("keep me")
    good = write_lines(tmp_path / "good.jsonl", [header(version=2), OPEN, RUN, CLOSE])
    assert main(["convert", str(good), str(target)]) == 2
    assert "cannot create" in capsys.readouterr().err
    assert target.read_text() == "keep me"
    # a file that is not a capture
    assert main(["convert", str(target), str(tmp_path / "x.jsonl")]) == 2
    assert "not an msnp-capture file" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing"), str(tmp_path / "y.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_dashes_are_standard_input_and_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """``msproxy convert - -`` converts a pipe; the result equals the file conversion."""
    source = write_lines(tmp_path / "v2.jsonl", [header(2), OPEN, RUN, RUN_B64, CLOSE])
    assert main(["convert", str(source), str(tmp_path / "v1.jsonl")]) == 0
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(source.read_bytes())))
    assert main(["convert", "-", "-"]) == 0
    assert capsysbinary.readouterr().out == (tmp_path / "v1.jsonl").read_bytes()
