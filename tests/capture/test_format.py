"""Capture write/read round trips, torn last lines, unknown versions, extra fields."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from msmgr.codec import Direction, Framer
from msproxy.__main__ import main
from msproxy.capture import (
    CaptureFormatError,
    CaptureWriter,
    Record,
    command_record,
    encode_record,
    read_capture,
    rebuild,
    record_command,
)
from msproxy.inspect import load_capture

from .conftest import header, write_lines

WIRE_C2S = (
    b"VER 1 MSNP9 CVR0\r\n"
    b"PNG\n"  # bare LF
    b"CHG 007 NLN\r\n"  # a zero-padded TrID: kept in "line"
    b"MSG 5 D 12\r\n\x00\x01\xfe\xffbinary\x80\x81"  # binary payload
    b"MSG 6 N 7\r\ncaf\xc3\xa9 !"  # UTF-8 text payload
)


def framed(data: bytes, direction: Direction = Direction.C2S) -> list[object]:
    return list(Framer(direction, strict=False).feed(data))


def write_wire(path: Path, data: bytes) -> list[bytes]:
    commands = framed(data)
    with CaptureWriter(path, tool="test", started=1.0) as writer:
        writer.write_many(
            command_record(1, "c2s", c, 1.0 + i)  # type: ignore[arg-type]
            for i, c in enumerate(commands)
        )
    return [c.raw for c in commands]  # type: ignore[attr-defined]


def test_round_trip_is_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    raws = write_wire(path, WIRE_C2S)
    records = [r for r in read_capture(path) if r["type"] == "cmd"]
    assert [record_command(r).to_bytes() for r in records] == raws
    assert b"".join(rebuild(r) for r in records) == WIRE_C2S
    by_verb = {r["cmd"] + str(r["trid"]): r for r in records}
    assert "payload_b64" in by_verb["MSG5"]
    assert "payload" not in by_verb["MSG5"]
    assert by_verb["MSG6"]["payload"] == "caf\u00e9 !"
    assert by_verb["CHG7"]["line"] == "CHG 007 NLN\r\n"
    assert "line" not in by_verb["VER1"]


def test_torn_last_line_warns_and_keeps_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "torn.jsonl"
    write_wire(path, WIRE_C2S)
    with path.open("ab") as file:
        file.write(b'{"type":"cmd","t":9.0,"conn":1,"dir":"c2s","cmd":"OU')
    with caplog.at_level(logging.WARNING):
        capture = load_capture(path)
    assert len(list(capture.commands())) == 5
    assert any("torn" in r.getMessage() for r in caplog.records)


def test_corrupt_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(header()) + "\n{not json\n" + json.dumps(header()) + "\n")
    with pytest.raises(CaptureFormatError, match="line 2"):
        load_capture(path)


def test_unknown_version_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(tmp_path / "v3.jsonl", [header(version=3)])
    with pytest.raises(CaptureFormatError, match=r"version 3 is not supported .* versions 1 and 2"):
        load_capture(path)
    for command in ("show", "summary"):
        assert main([command, str(path)]) == 2
        err = capsys.readouterr().err
        assert f"msproxy {command}: error:" in err
        assert "version 3" in err
        assert "Traceback" not in err


@pytest.mark.parametrize("version", [2.0, True, "2", None])
def test_a_version_that_is_not_an_integer_is_a_clear_error(tmp_path: Path, version: object) -> None:
    # (2.0 == 2 and True == 1 in Python: found by the malformed-records property test)
    path = write_lines(tmp_path / "v.jsonl", [{**header(), "version": version}])
    with pytest.raises(CaptureFormatError, match=r"is not supported"):
        load_capture(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read"),
        (b"", "empty"),
        (b"hello\n", "x.jsonl: not an msnp-capture file (its first line is not JSON)\n"),
        (
            b'{"type":"header","format":"pcap"}\n',
            "x.jsonl: not an msnp-capture file: the first record is not an msnp-capture header\n",
        ),
        # a binary file without a newline: not a capture, not "torn" then "empty"
        (b"\x89PNG\r\x1a\x00\xff\xfe", "x.jsonl: not an msnp-capture file (its first line"),
        (b"\x89PNG\r\n\x1a\n\x00\xff", "x.jsonl: not an msnp-capture file (its first line"),
        (b'{"type":"header"}', "the first record is not an msnp-capture header"),
    ],
)
def test_cli_rejects_bad_files_without_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    content: bytes | None,
    expected: str,
) -> None:
    path = tmp_path / "x.jsonl"
    if content is not None:
        path.write_bytes(content)
    for command in ("show", "summary", "replay"):
        argv = [command, str(path)] + (
            ["--as-client", "--server", "127.0.0.1:9"] if command == "replay" else []
        )
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert expected in err
        assert "Traceback" not in err
        assert "torn" not in caplog.text


def test_a_complete_last_record_without_newline_is_not_torn(tmp_path: Path) -> None:
    """Only a last line that is not JSON is torn; a bad record there is an error."""
    path = tmp_path / "x.jsonl"
    path.write_bytes(json.dumps(header()).encode() + b'\n{"type":"bogus","conn":1}')
    with pytest.raises(CaptureFormatError, match="line 2 has unknown type 'bogus'"):
        load_capture(path)


def test_directory_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_record_without_conn_is_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", [header(), {"type": "close", "t": 1.0}])
    with pytest.raises(CaptureFormatError, match="conn"):
        load_capture(path)


def test_extra_fields_are_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [
        header(host="lab", future={"x": 1}),
        {
            "type": "open",
            "t": 1000.0,
            "conn": 1,
            "role": "NS",
            "client": "127.0.0.1:1",
            "upstream": "127.0.0.1:2",
            "parent": None,
            "via": None,
            "tls": False,
        },
        {
            "type": "cmd",
            "t": 1000.5,
            "conn": 1,
            "dir": "c2s",
            "cmd": "SYN",
            "trid": 8,
            "args": ["0"],
            "mono": 12.5,
            "note": "extra",
        },
    ]
    path = write_lines(tmp_path / "x.jsonl", records)
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "-> SYN 8 0" in out
    assert "open NS" in out


def test_drop_cached_keeps_every_byte_and_counts_anew(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path, tool="t", started=0.0) as writer:
        header_size = path.stat().st_size
        assert writer.cached == header_size
        record: Record = {"type": "close", "t": 1.0, "conn": 1, "by": "proxy"}
        writer.write(record)
        writer.drop_cached()
        assert writer.cached == 0
        writer.write(record)
        assert writer.cached == path.stat().st_size - header_size - len(encode_record(record))
    assert [r["type"] for r in read_capture(path)] == ["header", "close", "close"]
    with pytest.raises(ValueError, match="closed"):
        writer.drop_cached()


def test_appending_counts_from_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    CaptureWriter(path, tool="t", started=0.0).close()
    with CaptureWriter(path, tool="t", started=0.0, append=True) as writer:
        assert writer.cached == 0  # nothing written by this writer yet
