"""Capture format version 2: ``run`` records read back (or refused) by ``read_capture``.

Every record here is written by hand (no C extension needed): malformed runs must give a
``CaptureFormatError`` naming the file and the line, runs beyond the framer's default
limits must still read back, and ``expand_runs=False`` must give the runs untouched.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from msmgr.codec import (
    DEFAULT_MAX_LINE,
    DEFAULT_MAX_PAYLOAD,
    Command,
    Direction,
    Framer,
    Limits,
)
from msproxy.capture import (
    CaptureFormatError,
    CaptureWriter,
    Record,
    command_record,
    put_bytes,
    read_capture,
    rebuild,
    run_commands,
)
from msproxy.inspect import load_capture

from .conftest import header, write_lines

OPEN: Record = {
    "type": "open",
    "t": 1000.0,
    "conn": 1,
    "role": "SB",
    "client": "127.0.0.1:5",
    "upstream": "127.0.0.1:1865",
    "parent": None,
    "via": None,
}
CLOSE: Record = {"type": "close", "t": 1002.0, "conn": 1, "by": "client", "reason": "x"}


def run_record(data: bytes, count: int, *, direction: str = "c2s", **extra: Any) -> Record:
    """A ``run`` record of ``data`` (text in ``data``, anything else in ``data_b64``)."""
    record: Record = {"type": "run", "t": 1001.5, "conn": 1, "dir": direction, "count": count}
    put_bytes(record, "data", data)
    record.update(extra)
    return record


def framed(data: bytes, direction: str, limits: Limits | None = None) -> list[Command]:
    events = Framer(Direction(direction), strict=False, limits=limits).feed(data)
    assert all(isinstance(e, Command) for e in events), events
    return [e for e in events if isinstance(e, Command)]


GOOD = run_record(b"PNG\r\nCHG 6 NLN\r\n", 2)


# -- 1. malformed run records ------------------------------------------------------------


def with_fields(record: Record, **changes: Any) -> Record:
    """``record`` with fields replaced (``None``: removed)."""
    changed = dict(record)
    for key, value in changes.items():
        if value is None:
            changed.pop(key, None)
        else:
            changed[key] = value
    return changed


def b64_run(text: str) -> Record:
    return with_fields(GOOD, data=None, data_b64=text)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        # count that does not match the commands
        (with_fields(GOOD, count=3), "run record of count 3 holds 2 commands and 0 other"),
        (with_fields(GOOD, count=1), "run record of count 1 holds 2 commands and 0 other"),
        # a trailing incomplete command (a line, then a payload)
        (
            run_record(b"PNG\r\nCH", 1),
            "run record of count 1 holds 1 commands and 0 other events,"
            " and 2 bytes of an incomplete one",
        ),
        (
            run_record(b"PNG\r\nMSG 1 N 3\r\nab", 2),
            "run record of count 2 holds 1 commands and 0 other events,"
            " and 13 bytes of an incomplete one",
        ),
        # bytes that are not commands, or nothing at all
        (run_record(b"hello\r\n", 1), "run record of count 1 holds 0 commands and 1 other"),
        (
            run_record(b"PNG\r\n\r\n", 1),
            "run record of count 1 holds 1 commands and 1 other events",
        ),
        (run_record(b"", 1), "run record of count 1 holds 0 commands and 0 other"),
        # neither data nor data_b64; data of the wrong type
        (with_fields(GOOD, data=None), "run record has neither 'data' nor 'data_b64'"),
        (with_fields(GOOD, data=5), "'data' must be a string, not int"),
        # bad base64
        (b64_run("not base64!"), "data_b64 is not valid base64"),
        (b64_run("UE5"), "data_b64 is not valid base64: Incorrect padding"),
        (b64_run("UE5HDQo\u00e9"), "data_b64 is not valid base64"),
        (with_fields(GOOD, data=None, data_b64=[1]), "data_b64 is not valid base64"),
        # count: zero, negative, a string, a bool, a float, missing
        (with_fields(GOOD, count=0), "run record has a malformed 'count': 0"),
        (with_fields(GOOD, count=-2), "run record has a malformed 'count': -2"),
        (with_fields(GOOD, count="2"), "run record has a malformed 'count': '2'"),
        (with_fields(GOOD, count=True), "run record has a malformed 'count': True"),
        (with_fields(GOOD, count=2.0), "run record has a malformed 'count': 2.0"),
        (with_fields(GOOD, count=None), "run record has a malformed 'count': None"),
        # dir: missing, unknown
        (with_fields(GOOD, dir=None), "run record has a malformed 'dir': None"),
        (with_fields(GOOD, dir="x2y"), "run record has a malformed 'dir': 'x2y'"),
        (with_fields(GOOD, dir="C2S"), "run record has a malformed 'dir': 'C2S'"),
        # t and conn: missing or not numbers
        (with_fields(GOOD, t=None), "run record has a malformed 't' or 'conn'"),
        (with_fields(GOOD, t="1001.5"), "run record has a malformed 't' or 'conn'"),
        (with_fields(GOOD, conn=None), "run record has a malformed 't' or 'conn'"),
        (with_fields(GOOD, conn="1"), "run record has a malformed 't' or 'conn'"),
        (with_fields(GOOD, conn=1.0), "run record has a malformed 't' or 'conn'"),
        (with_fields(GOOD, t=True), "run record has a malformed 't' or 'conn'"),
        (with_fields(GOOD, conn=True), "run record has a malformed 't' or 'conn'"),
    ],
)
def test_malformed_run_is_an_error_naming_file_and_line(
    tmp_path: Path, record: Record, message: str
) -> None:
    # the bad run is line 4, after good records (a run among them): the line is counted
    # in the file, not in the records the runs expand to
    path = write_lines(tmp_path / "bad.jsonl", [header(version=2), OPEN, GOOD, record, CLOSE])
    expected = f"{re.escape(str(path))}: line 4: {re.escape(message)}"
    with pytest.raises(CaptureFormatError, match=expected):
        list(read_capture(path))
    with pytest.raises(CaptureFormatError, match=expected):
        load_capture(path)  # what show/summary/diff/replay do
    # unexpanded, the reader passes the run on; rebuild() still checks its bytes (and
    # needs no more than them, like the rebuild of a cmd record)
    kept = list(read_capture(path, expand_runs=False))
    assert kept[3] == record
    if "'t' or 'conn'" in message:
        assert rebuild(record) == b"PNG\r\nCHG 6 NLN\r\n"
    else:
        with pytest.raises(CaptureFormatError, match=re.escape(message)):
            rebuild(record)


def test_malformed_last_run_without_newline_is_an_error_not_torn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A last line that is JSON is never torn: a bad run there is an error, not skipped."""
    path = tmp_path / "c.jsonl"
    bad = json.dumps(with_fields(GOOD, count=5))
    path.write_text(json.dumps(header(version=2)) + "\n" + bad)
    with caplog.at_level(logging.WARNING), pytest.raises(CaptureFormatError, match="line 2: run"):
        list(read_capture(path))
    assert "torn" not in caplog.text


def test_run_in_a_version_1_capture_is_an_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "v1.jsonl", [header(version=1), OPEN, GOOD])
    expected = (
        f"{re.escape(str(path))}: line 3 has unknown type 'run' "
        r"\(a record of format version 2, not of this file's\)"
    )
    with pytest.raises(CaptureFormatError, match=expected):
        list(read_capture(path))
    with pytest.raises(CaptureFormatError, match=expected):
        list(read_capture(path, expand_runs=False))  # the version decides, not expansion
    # the same records in a version-2 file read (as the cmd records of the run)
    path = write_lines(tmp_path / "v2.jsonl", [header(version=2), OPEN, GOOD])
    assert [r.get("cmd") for r in read_capture(path)] == [None, None, "PNG", "CHG"]


def test_run_written_through_a_version_1_writer_is_refused_on_reading(tmp_path: Path) -> None:
    """The writer does not check its records: a run written through a version-1 writer
    makes a file whose header says version 1, which the reader then refuses."""
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path, tool="t", started=1.0, version=1) as writer:
        writer.write(GOOD)
    assert json.loads(path.read_text().splitlines()[0])["version"] == 1
    with pytest.raises(CaptureFormatError, match="line 2 has unknown type 'run'"):
        list(read_capture(path))


@pytest.mark.parametrize("cut", [1, 20, 40, -2])
def test_torn_last_run_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, cut: int
) -> None:
    path = tmp_path / "torn.jsonl"
    last = json.dumps(run_record(b"PNG\r\nOUT\r\n", 2, t=1001.9))
    before = "".join(json.dumps(r) + "\n" for r in [header(version=2), OPEN, GOOD])
    path.write_text(before + last[:cut])  # a writer killed mid-write
    with caplog.at_level(logging.WARNING):
        records = list(read_capture(path))
    assert [(r["type"], r.get("cmd")) for r in records] == [
        ("header", None),
        ("open", None),
        ("cmd", "PNG"),
        ("cmd", "CHG"),
    ]
    assert f"{path}: line 4 is torn (incomplete last record), skipped" in caplog.text
    # whole (even without its newline), the same line is read
    path.write_text(before + last)
    assert [r.get("cmd") for r in read_capture(path)][-2:] == ["PNG", "OUT"]


# -- 2. runs beyond the framer's default limits -------------------------------------------


def test_run_beyond_the_default_limits_reads_back(tmp_path: Path) -> None:
    """A proxy run with larger limits may capture commands the default framer refuses:
    the reader frames a run with limits as large as the run itself."""
    payload = b"x" * (2 * 1024 * 1024)  # 2 MiB: twice the default payload limit
    long_arg = "a" * (DEFAULT_MAX_LINE + 100)  # a line longer than the default limit
    assert len(payload) > DEFAULT_MAX_PAYLOAD
    data = (
        b"MSG 1 N " + str(len(payload)).encode() + b"\r\n" + payload
        + b"CAL 2 " + long_arg.encode() + b"\r\n"
        + b"PNG\r\n"
    )  # fmt: skip
    # the default framer does refuse each (else the test would prove nothing)
    start = data.index(b"CAL 2 ")
    for part in (data[:start], data[start:]):
        events = Framer(Direction.C2S, strict=False).feed(part)
        assert not any(isinstance(e, Command) for e in events[:1]), events[:1]
    records = [header(version=2), OPEN, run_record(data, 3), CLOSE]
    binary = b"MSG 3 D " + str(len(payload)).encode() + b"\r\n\x00" + payload[1:]
    records.insert(3, run_record(binary, 1))
    assert "data_b64" in records[3]
    path = write_lines(tmp_path / "big.jsonl", records)

    read = list(read_capture(path))
    cmds = [r for r in read if r["type"] == "cmd"]
    assert [(r["cmd"], r["trid"]) for r in cmds] == [
        ("MSG", 1),
        ("CAL", 2),
        ("PNG", None),
        ("MSG", 3),
    ]
    assert cmds[0]["payload"] == payload.decode()
    assert cmds[1]["args"] == [long_arg]
    assert base64.b64decode(cmds[3]["payload_b64"]) == b"\x00" + payload[1:]
    assert {(r["t"], r["conn"], r["dir"]) for r in cmds} == {(1001.5, 1, "c2s")}
    assert b"".join(rebuild(r) for r in cmds) == data + binary
    # the model and the unexpanded records agree
    assert len(list(load_capture(path).commands())) == 4
    assert b"".join(rebuild(r) for r in read_capture(path, expand_runs=False)) == data + binary


# -- 3. expand_runs=False ----------------------------------------------------------------

S2C_WIRE = b"ACK 2\r\nMSG bob@x.com Bob 5\r\nhello"
BINARY_WIRE = b"MSG 3 D 4\r\n\x00\xff\x00\x01MSG 4 D 1\r\n\x02"
ODD_WIRE = b"CHG 007 NLN\r\nMSG 8 N 03\r\nabcPNG\n"  # exact lines kept: zero padding, bare LF


def unexpanded_capture() -> list[Record]:
    return [
        header(version=2),
        OPEN,
        {"type": "cmd", "t": 1000.5, "conn": 1, "dir": "c2s", "cmd": "USR", "trid": 1,
         "args": ["alice@x.com", "1.2"]},
        run_record(b"MSG 2 N 5\r\nhello", 1, t=1001.0),
        run_record(S2C_WIRE, 2, direction="s2c", t=1001.1),
        run_record(BINARY_WIRE, 2, t=1001.2, note="extra fields are kept"),
        run_record(ODD_WIRE, 3, t=1001.3),
        CLOSE,
    ]  # fmt: skip


def test_unexpanded_runs_are_yielded_unchanged_and_rebuild_exactly(tmp_path: Path) -> None:
    written = unexpanded_capture()
    assert "data_b64" in written[5]
    path = write_lines(tmp_path / "c.jsonl", written)
    kept = list(read_capture(path, expand_runs=False))
    assert kept == written
    c2s = b"".join(rebuild(r) for r in kept if r.get("dir") == "c2s")
    s2c = b"".join(rebuild(r) for r in kept if r.get("dir") == "s2c")
    assert c2s == b"USR 1 alice@x.com 1.2\r\n" + b"MSG 2 N 5\r\nhello" + BINARY_WIRE + ODD_WIRE
    assert s2c == S2C_WIRE


def test_expanded_runs_are_the_cmd_records_of_their_commands(tmp_path: Path) -> None:
    """Expanded, each run is the ``cmd`` records a version-1 capture would hold (the
    run's time, conn and dir on each), and they rebuild the same bytes."""
    written = unexpanded_capture()
    path = write_lines(tmp_path / "c.jsonl", written)
    expanded = list(read_capture(path))
    expected: list[Record] = []
    for record in written:
        if record["type"] != "run":
            expected.append(record)
            continue
        direction = record["dir"]
        data = rebuild(record)
        expected += [command_record(1, direction, c, record["t"]) for c in framed(data, direction)]
    assert expanded == expected
    assert [r["type"] for r in expanded].count("cmd") == 1 + 1 + 2 + 2 + 3
    assert "run" not in {r["type"] for r in expanded}
    odd = [r for r in expanded if r.get("t") == 1001.3]
    assert [r.get("line") for r in odd] == ["CHG 007 NLN\r\n", "MSG 8 N 03\r\n", "PNG\n"]
    # the same bytes whichever way the capture is read
    kept = list(read_capture(path, expand_runs=False))
    for direction in ("c2s", "s2c"):
        assert b"".join(rebuild(r) for r in expanded if r.get("dir") == direction) == b"".join(
            rebuild(r) for r in kept if r.get("dir") == direction
        )
    # and run_commands gives the commands with their exact bytes
    assert [c.raw for c in run_commands(written[6])] == [
        b"CHG 007 NLN\r\n",
        b"MSG 8 N 03\r\nabc",
        b"PNG\n",
    ]
