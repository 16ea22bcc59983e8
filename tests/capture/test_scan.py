"""The capture's scanners write the very records the Python framer's path defines.

The Python framer's path (``Framer`` + ``command_record`` + ``encode_record``, one
``cmd`` record per command) is the definition of the records; ``RecordScanner`` frames
runs of ordinary commands without ``Command`` objects, in Python (``ordinary``, the
definition of runs) or with the C extension. These tests feed the same streams, in the
same chunks, to a framer without a scanner and with each scanner, and require the same
records, the same forwarded bytes and the same events. Format version 1: the same
bytes. Version 2: the scanners write ``run`` records, which a reader turns
(``run_records``) into exactly the ``cmd`` records of the framer's path, and the Python
and the C scanner write the same bytes, split into the same runs.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msmgr.codec import (
    CommandRun,
    Direction,
    Framer,
    Limits,
)
from msproxy.capture import read_capture, rebuild
from msproxy.capture import scan as scan_module
from msproxy.capture.scan import RecordScanner
from tests.msnp_streams import PAYLOAD, chunked, stream

from .conftest import SAMPLE_PATHS
from .scanutil import COMMON_C2S, SCANNERS, assert_same, run

C2S, S2C = Direction.C2S, Direction.S2C


def test_the_c_extension_is_built() -> None:
    # The fast path is optional for an install, but the project's own runs must have it:
    # every other test of this file would prove nothing without it.
    assert scan_module._scan is not None, (
        "msproxy.capture._scan is not built: install with a C compiler present "
        "(pip install -e '.[test]' builds it in place)"
    )


@given(
    st.sampled_from([C2S, S2C]),
    st.lists(stream(), min_size=1, max_size=3),
    st.lists(st.integers(0, 2000), max_size=6),
    st.sampled_from([(), ("USR", "MSG Hotmail"), ("XFR", "RNG", "CAL")]),
    st.sampled_from([None, Limits(max_line=40, max_payload=30)]),
)
@settings(max_examples=400, deadline=None)
def test_generated_streams_give_the_same_records(
    direction: Direction,
    streams: list[bytes],
    cuts: list[int],
    slow: tuple[str, ...],
    limits: Limits | None,
) -> None:
    data = b"".join(streams)
    assert_same(direction, chunked(data, cuts), slow=slow, limits=limits)


@given(st.lists(stream(), min_size=1, max_size=3), st.lists(st.integers(0, 2000), max_size=6))
@settings(max_examples=100, deadline=None)
def test_frame_only_mode_frames_the_same(streams: list[bytes], cuts: list[int]) -> None:
    # With no capture the proxy still frames every command (limits, redirects): the
    # scanner frames exactly as the framer does.
    chunks = chunked(b"".join(streams), cuts)
    for direction in (C2S, S2C):
        python = run(direction, chunks, bulk=False)
        for accelerate in SCANNERS:
            fast = run(direction, chunks, bulk=True, record=False, accelerate=accelerate)
            assert fast[1:3] == python[1:3]


@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=4))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_give_the_same_records(data: bytes, cuts: list[int]) -> None:
    for direction in (C2S, S2C):
        assert_same(direction, chunked(b"MSG 1 N 3\r\nabc" + data, cuts))


@given(PAYLOAD)
@settings(max_examples=300, deadline=None)
def test_payload_text_or_base64_as_python_decides(payload: bytes) -> None:
    wire = b"MSG 1 N %d\r\n%s" % (len(payload), payload)
    assert assert_same(C2S, [wire]) == 1


def test_every_byte_value_at_every_position_of_a_word() -> None:
    # The C side checks eight payload bytes at a time: put each byte value at each
    # position of two words of plain text, and compare with the Python path.
    chunks = []
    for value in range(256):
        for position in range(16):
            payload = bytearray(b"abcdefghABCDEFGH")
            payload[position] = value
            chunks.append(b"MSG 1 N 16\r\n" + bytes(payload))
    assert assert_same(C2S, [b"".join(chunks)]) == len(chunks)


@pytest.mark.parametrize(
    ("direction", "template"),
    [
        (C2S, b"MSG 12 N 16\r\nabcdefghABCDEFGH"),
        (S2C, b"CHG 12 NLN 0 a@b.c\r\n"),
        (S2C, b'NOT 4\r\n<a"b>'),
    ],
)
def test_every_byte_value_at_every_position_of_a_command(
    direction: Direction, template: bytes
) -> None:
    # Each byte value at each position of a command, line and payload (the verb, the
    # spaces, the TrID, the byte count, the line end), then an ordinary one: every
    # path frames, splits into runs and writes them alike.
    for position in range(len(template)):
        commands = []
        for value in range(256):
            command = bytearray(template)
            command[position] = value
            commands.append(bytes(command) + b"PNG\r\n")
        assert_same(direction, [b"".join(commands)])


@pytest.mark.parametrize("path", SAMPLE_PATHS, ids=lambda p: p.name)
def test_the_samples_traffic_gives_the_same_records(path: Path) -> None:
    # Each direction of each connection of the samples, in one chunk (then, as the relay
    # does, redirects and secrets left to the framer).
    streams: dict[tuple[int, str], list[bytes]] = {}
    for record in read_capture(path):
        if record["type"] == "cmd":
            streams.setdefault((record["conn"], record["dir"]), []).append(rebuild(record))
    assert streams
    for (_, direction), commands in streams.items():
        data = b"".join(commands)
        assert_same(Direction(direction), [data])
        assert_same(Direction(direction), [data], slow=("RNG", "USR", "XFR"))


# -- the scanner takes the common case, and stops where it must ------------------------


@pytest.mark.parametrize("accelerate", SCANNERS)
def test_common_commands_all_take_the_fast_path(accelerate: bool) -> None:
    assert assert_same(C2S, [COMMON_C2S]) == 6
    records, _, _, _ = run(C2S, [COMMON_C2S], bulk=True, accelerate=accelerate)
    lines = [json.loads(line) for line in records.splitlines()]
    assert [r["cmd"] for r in lines] == ["MSG", "MSG", "PNG", "CHG", "CAL", "UUX"]
    assert lines[1]["payload_b64"] == base64.b64encode(b"\x00\xff\x00\x01").decode()
    assert lines[5]["payload"] == '<Data><PSM>"\\</PSM></Data>'


@given(st.sampled_from([C2S, S2C]), st.lists(stream(), min_size=1, max_size=4))
@settings(max_examples=300, deadline=None)
def test_a_run_is_written_without_framing_it_again_as_runs_would(
    direction: Direction, streams: list[bytes]
) -> None:
    # Any run given the relay's ends is written without framing it again: the very
    # records written when the run is framed again (by either scanner, and by C's runs()).
    scanners = [RecordScanner(5, direction, accelerate=fast) for fast in SCANNERS]
    framer = Framer(direction, strict=False, bulk=scanners[0])
    keys = b'"t":1.5,"conn":5,"dir":"%s",' % direction.value.encode()
    for event in framer.feed(b"".join(streams)):
        if not isinstance(event, CommandRun):
            continue
        assert {s(bytes(event.raw), 0) for s in scanners} == {
            (len(event.raw), event.count, event.data)
        }
        runs = scanners[0].encode_run(event.raw, event.count, 1.5, 2)
        for scanner in scanners:
            assert scanner.encode_run(event.raw, event.count, 1.5, 2) == runs
            assert scanner.encode_run(event.raw, event.count, 1.5, 2, event.data) == runs
        if scan_module._scan is not None:
            c_runs = scan_module._scan.runs(event.raw, 0, keys, *scanners[0]._tables)
            assert c_runs == (len(event.raw), event.count, runs)
            with_ends = scan_module._scan.runs(event.raw, 0, keys, *scanners[0]._tables, event.data)
            assert with_ends == c_runs


@pytest.mark.parametrize("accelerate", SCANNERS)
def test_runs_keep_text_as_text_and_binary_commands_apart(accelerate: bool) -> None:
    # Version 2: one run record per stretch of text commands (JSON text, readable) and
    # one per stretch of binary ones (base64), in wire order; a stretch of a single
    # command is its cmd record.
    records, _, _, _ = run(C2S, [COMMON_C2S], bulk=True, version=2, accelerate=accelerate)
    lines = [json.loads(line) for line in records.splitlines()]
    assert [(r["type"], r.get("count")) for r in lines] == [
        ("cmd", None),  # a text command alone
        ("cmd", None),  # a binary command alone
        ("run", 4),  # PNG, CHG, CAL, UUX
    ]
    records, _, _, _ = run(
        C2S, [COMMON_C2S + COMMON_C2S], bulk=True, version=2, accelerate=accelerate
    )
    lines = [json.loads(line) for line in records.splitlines()]
    assert [(r["type"], r.get("count")) for r in lines] == [
        ("cmd", None),
        ("cmd", None),
        ("run", 5),  # PNG CHG CAL UUX MSG
        ("cmd", None),
        ("run", 4),
    ]
    assert lines[1]["payload_b64"] == base64.b64encode(b"\x00\xff\x00\x01").decode()
    assert lines[2]["data"].startswith("PNG\r\nCHG 6 NLN")
    assert lines[2]["data"].endswith("\r\nMIME-Version: 1.0\r\n\r\nhello")
    assert lines[4]["data"].endswith('<Data><PSM>"\\</PSM></Data>')
    assert {r["t"] for r in lines} == {1_700_000_000.25}
    assert {(r["conn"], r["dir"]) for r in lines} == {(5, "c2s")}
    # a binary stretch of several commands is one record
    wire = b"MSG 1 D 1\r\n\x00MSG 2 D 1\r\n\x01PNG\r\nPNG\r\n"
    records, _, _, _ = run(C2S, [wire], bulk=True, version=2, accelerate=accelerate)
    lines = [json.loads(line) for line in records.splitlines()]
    assert [("data" in r, r["count"]) for r in lines] == [(False, 2), (True, 2)]
    assert base64.b64decode(lines[0]["data_b64"]) == wire[:24]
