"""Helpers of the scanner tests: one stream through the framer with or without a scanner."""

from __future__ import annotations

import array
import itertools
import json

import pytest

from msmgr.codec import (
    Command,
    CommandRun,
    Desync,
    Direction,
    Framer,
    Limits,
    Passthrough,
    Unparsed,
)
from msproxy.capture import command_record, encode_record, run_records
from msproxy.capture import scan as scan_module
from msproxy.capture.scan import RecordScanner

C2S, S2C = Direction.C2S, Direction.S2C


pytestmark_c = pytest.mark.skipif(scan_module._scan is None, reason="C extension not built")
SCANNERS = (False, True) if scan_module._scan is not None else (False,)
"""The scanners compared: Python, and C where it is built."""


def run(
    direction: Direction,
    chunks: list[bytes],
    *,
    bulk: bool,
    slow: tuple[str, ...] = (),
    limits: Limits | None = None,
    record: bool = True,
    version: int = 1,
    accelerate: bool | None = None,
) -> tuple[bytes, bytes, list[str], int]:
    """(records, forwarded bytes, event kinds, commands the scanner took) of one stream,
    the scanner's runs written in capture format ``version``; ``accelerate``: the
    scanner's (None: C when built)."""
    scanner = RecordScanner(5, direction, slow=slow, limits=limits, accelerate=accelerate)
    # the reference is the pure-Python framer (not the codec's own C accelerator)
    framer = Framer(
        direction, strict=False, limits=limits, bulk=scanner if bulk else None, accelerate=False
    )
    records: list[bytes] = []
    raw: list[bytes | memoryview] = []
    kinds: list[str] = []
    scanned = 0
    for index, chunk in enumerate(chunks):
        t = 1_700_000_000.25 + index / 7
        for event in framer.feed(chunk) + (framer.close() if index == len(chunks) - 1 else []):
            if isinstance(event, CommandRun):
                # the scanner only frames: its data is where each command ends
                assert list(array.array("I", event.data)) == ends(direction, event.raw)
                if record:
                    records.append(scanner.run(event, t).encode(version))
                raw.append(event.raw)
                kinds += ["cmd"] * event.count
                scanned += event.count
            elif isinstance(event, Command):
                records.append(encode_record(command_record(5, direction.value, event, t)))
                raw.append(event.raw or b"")
                kinds.append("cmd")
            elif isinstance(event, Unparsed):
                raw.append(event.raw)
                kinds.append(f"unparsed:{event.reason}")
            elif isinstance(event, Desync):
                kinds.append(f"desync:{event.reason}")
            elif isinstance(event, Passthrough):
                raw.append(event.data)
                kinds.append("passthrough")
    return b"".join(records), b"".join(raw), kinds, scanned


def ends(direction: Direction, raw: bytes | memoryview) -> list[int]:
    """Where each command of ``raw`` ends, by the pure-Python framer."""
    events = Framer(direction, strict=False, accelerate=False).feed(raw)
    assert all(isinstance(e, Command) for e in events)
    return list(itertools.accumulate(len(e.raw or b"") for e in events if isinstance(e, Command)))


def assert_same(
    direction: Direction,
    chunks: list[bytes],
    *,
    slow: tuple[str, ...] = (),
    limits: Limits | None = None,
) -> int:
    """Every path agrees on ``chunks``: the framer's alone (the reference), with the
    Python scanner, and with the C scanner where it is built (then the two scanners'
    version-2 records are the same bytes); returns how many commands a scanner took."""
    python = run(direction, chunks, bulk=False, slow=slow, limits=limits)
    written = []
    for accelerate in SCANNERS:
        fast = run(direction, chunks, bulk=True, slow=slow, limits=limits, accelerate=accelerate)
        assert fast[0] == python[0]
        assert fast[1] == python[1] == b"".join(chunks)[: len(python[1])]
        assert fast[2] == python[2]
        runs = run(
            direction, chunks, bulk=True, slow=slow, limits=limits, version=2, accelerate=accelerate
        )
        assert runs[1:] == fast[1:]
        assert expanded(runs[0]) == python[0]
        written.append(runs)
    assert all(runs == written[0] for runs in written)  # the run records, byte for byte
    return written[0][3]


def expanded(data: bytes) -> bytes:
    """Version-2 records with each ``run`` replaced by the ``cmd`` records it stands for
    (as ``read_capture`` does), encoded again."""
    out = []
    for line in data.splitlines():
        record = json.loads(line)
        if record["type"] != "run":
            out.append(line + b"\n")
            continue
        assert ("data" in record) != ("data_b64" in record)
        assert record["count"] >= 2  # a single command is written as its cmd record
        commands = run_records(record)
        assert len(commands) == record["count"]
        out.extend(encode_record(r) for r in commands)
    return b"".join(out)


COMMON_C2S = (
    b"MSG 4 N 26\r\nMIME-Version: 1.0\r\n\r\nhello"
    b"MSG 5 D 4\r\n\x00\xff\x00\x01"
    b"PNG\r\n"
    b"CHG 6 NLN 268435492\r\n"
    b"CAL 7 bob@example.com\r\n"
    b'UUX 8 26\r\n<Data><PSM>"\\</PSM></Data>'
)
