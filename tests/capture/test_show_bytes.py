"""``msproxy show --bytes`` (one direction's exact bytes) and ``show --json`` (records)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msmgr.codec import Command, Direction, Framer
from msproxy.__main__ import main
from msproxy.capture import Record, command_record, read_capture

from .conftest import MD5_CHAT, header, write_lines

DS_S2C_SENT = b"VER 1 MSNP2\r\nINF 2 MD5\r\nXFR 3 NS 127.0.0.1:1864\r\n"
DS_S2C_RECEIVED = b"VER 1 MSNP2\r\nINF 2 MD5\r\nXFR 3 NS 127.0.0.1:40001\r\n"


def show_bytes(capsysbinary: pytest.CaptureFixture[bytes], *argv: str) -> bytes:
    assert main(["show", *argv]) == 0
    out, err = capsysbinary.readouterr()
    assert err == b""
    return out


def test_bytes_as_sent_and_as_received(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    sample = str(MD5_CHAT)
    assert show_bytes(capsysbinary, sample, "--bytes", "--conn", "1", "--dir", "s2c") == (
        DS_S2C_SENT
    )
    received = show_bytes(
        capsysbinary, sample, "--bytes", "--conn", "DS#1", "--dir", "s2c", "--as-received"
    )
    assert received == DS_S2C_RECEIVED
    c2s = show_bytes(capsysbinary, sample, "--bytes", "--conn", "1", "--dir", "c2s")
    assert c2s == b"VER 1 MSNP2 CVR0\r\nINF 2\r\nUSR 3 MD5 I alice@example.com\r\n"


def test_bytes_are_exact_for_odd_lines_and_binary_payloads(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """What the sender sent, byte for byte: extra spaces, LF line ends, binary payloads."""
    wire = (
        b"MSG  alice@example.com Alice 5\r\n\x00\x01\xff\r\n"
        b"NLN NLN bob@example.com Bob\n"
        b"MSG bob@example.com Bob 5\r\nhello"
    )
    commands = Framer(Direction.S2C, strict=False).feed(wire)
    assert all(isinstance(command, Command) for command in commands)
    records: list[Record] = [header()]
    records += [command_record(1, "s2c", c, 1000.0) for c in commands if isinstance(c, Command)]
    path = write_lines(tmp_path / "odd.jsonl", records)
    assert show_bytes(capsysbinary, str(path), "--bytes", "--conn", "1", "--dir", "s2c") == wire
    assert show_bytes(capsysbinary, str(path), "--bytes", "--conn", "1", "--dir", "c2s") == b""


@pytest.mark.parametrize(
    "argv",
    [
        ["--bytes", "--dir", "s2c"],
        ["--bytes", "--conn", "1"],
        ["--bytes", "--conn", "1,2", "--dir", "s2c"],
        ["--bytes", "--conn", "1", "--dir", "s2c", "--cmd", "VER"],
        ["--as-received", "--conn", "1", "--dir", "s2c"],
    ],
)
def test_bytes_needs_one_connection_and_direction(
    argv: list[str], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["show", str(MD5_CHAT), *argv]) == 2
    out, err = capsysbinary.readouterr()
    assert out == b""
    assert b"error: --" in err


def test_json_writes_the_selected_records(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    out = show_bytes(capsysbinary, str(MD5_CHAT), "--json", "--conn", "1", "--dir", "s2c")
    written = [json.loads(line) for line in out.decode("ascii").splitlines()]
    expected = [
        r for r in list(read_capture(MD5_CHAT))[1:] if r["conn"] == 1 and r.get("dir") == "s2c"
    ]
    assert written == expected
    assert [r["type"] for r in written] == ["cmd", "cmd", "cmd", "rewrite"]
    everything = show_bytes(capsysbinary, str(MD5_CHAT), "--json")
    assert len(everything.splitlines()) == len(list(read_capture(MD5_CHAT))) - 1
