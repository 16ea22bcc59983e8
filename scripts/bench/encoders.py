"""Benchmark: the capture's record encoders, the hand-written C one against orjson and msgspec.

For each workload (ordinary commands read in 64 KiB chunks: text messages, binary P2P
blocks, short presence lines, and the relay bench's client mix) it times, per command,
what turns a framed run into JSON Lines, with the runs framed beforehand (as on the
relay's path, ``RecordScanner``):

* ``C``: the current path, ``RecordScanner.encode_run`` with the C extension (the
  records written from the bytes, JSON escaping and base64 by hand);
* ``python``: the same in Python (``accelerate=False``: record dicts, ``json``'s C
  encoder);
* ``orjson`` / ``msgspec``: the Python path's record dicts (the same stretches, the
  same ``cmd`` records) encoded by ``orjson.dumps`` / a ``msgspec.json.Encoder``
  (``msgspec`` is given the binary data as bytes: it writes base64 itself).

Format version 2 (``run`` records) and version 1 (a ``cmd`` record per command) are
timed apart. ``dicts only`` is the time the Python path spends building the record
dicts, which every library encoder needs first. Each line says whether the library's
bytes are the C path's bytes. Ratios are to ``C`` in the same run (best of
``--repeat``); absolute numbers vary between machines and runs.

    pip install orjson msgspec   # not dependencies of the project
    python scripts/bench/encoders.py [--commands 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import array
import base64
import importlib
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from msmgr.codec import Command, CommandRun, Direction, Framer
from msproxy.capture import command_record
from msproxy.capture.ordinary import stretches
from msproxy.capture.scan import RecordScanner, ScannedRun, accelerated

CHUNK = 65536
T = 1_700_000_000.123456
TEXT = (
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
    b"X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n"
    + 'hello, how are you today? \u00e9t\u00e9 \u2713 "quoted" back\\slash'.encode()
    * 4
)
P2P = b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\n" + bytes(range(256)) * 5


def workload(kind: str, count: int) -> bytes:
    """``count`` client commands of one kind, or the relay bench's mix."""
    parts = []
    for i in range(count):
        trid = i + 1
        if kind == "text":
            parts.append(b"MSG %d N %d\r\n%s" % (trid, len(TEXT), TEXT))
        elif kind == "binary":
            parts.append(b"MSG %d D %d\r\n%s" % (trid, len(P2P), P2P))
        elif kind == "lines":
            parts.append(b"CHG %d NLN 268435492 %%3Cmsnobj%%20Creator%%3D%%22a%%22%%3E\r\n" % trid)
        elif i % 10 == 0:  # the mix: one P2P block in ten, text, pings, presence
            parts.append(b"MSG %d D %d\r\n%s" % (trid, len(P2P), P2P))
        elif i % 10 < 6:
            parts.append(b"MSG %d N %d\r\n%s" % (trid, len(TEXT), TEXT))
        elif i % 10 < 8:
            parts.append(b"PNG\r\n")
        else:
            parts.append(b"CHG %d NLN 0\r\n" % trid)
    return b"".join(parts)


def framed(data: bytes, scanner: RecordScanner) -> list[ScannedRun]:
    """The runs the relay's framing makes of ``data`` in 64 KiB chunks."""
    framer = Framer(Direction.C2S, strict=False, bulk=scanner, accelerate=False)
    runs = []
    for start in range(0, len(data), CHUNK):
        for event in framer.feed(data[start : start + CHUNK]):
            assert isinstance(event, CommandRun), event  # (ordinary commands only)
            runs.append(scanner.run(event, T))
    return runs


def records_of(run: ScannedRun, version: int, raw_bytes: bool) -> list[dict[str, Any]]:
    """The record dicts of a run, as the Python path builds them (``raw_bytes``: binary
    data as bytes, for an encoder that writes base64 itself)."""
    scanner = run.scanner
    framer = Framer(Direction.C2S, strict=False, accelerate=False)
    if version == 1:
        return [
            command_record(scanner.conn, scanner.dir, c, run.t)
            for c in framer.feed(run.raw)
            if isinstance(c, Command)
        ]
    ends = array.array("I", run.ends or b"")
    out: list[dict[str, Any]] = []
    for text, start, stop, count in stretches(run.raw, ends):
        piece = run.raw[start:stop]
        if count == 1:
            (command,) = framer.feed(piece)
            assert isinstance(command, Command)
            out.append(command_record(scanner.conn, scanner.dir, command, run.t))
            continue
        record: dict[str, Any] = {"type": "run", "t": run.t, "conn": scanner.conn}
        record["dir"] = scanner.dir
        if text:
            record["data"] = str(piece, "utf-8")
        elif raw_bytes:
            record["data_b64"] = bytes(piece)
        else:
            record["data_b64"] = base64.b64encode(piece).decode("ascii")
        record["count"] = count
        out.append(record)
    return out


def best(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def encode_runs(runs: list[ScannedRun], version: int) -> bytes:
    """The records of ``runs`` as the proxy writes them (by each run's scanner)."""
    return b"".join(run.encode(version) for run in runs)


def encoders(quiet: bool = True) -> dict[str, Callable[[list[ScannedRun], int], bytes]]:
    """The encoders to time, by name (a library that is not installed is left out)."""
    found: dict[str, Callable[[list[ScannedRun], int], bytes]] = {"C": encode_runs}
    try:
        orjson: Any = importlib.import_module("orjson")
        found["orjson"] = lambda runs, version: b"".join(
            orjson.dumps(record) + b"\n"
            for run in runs
            for record in records_of(run, version, raw_bytes=False)
        )
    except ImportError:
        if not quiet:
            print("orjson is not installed (pip install orjson): left out")
    try:
        msgspec: Any = importlib.import_module("msgspec")
        encoder = msgspec.json.Encoder()
        found["msgspec"] = lambda runs, version: b"".join(
            encoder.encode_lines(records_of(run, version, raw_bytes=True)) for run in runs
        )
    except ImportError:
        if not quiet:
            print("msgspec is not installed (pip install msgspec): left out")
    return found


def dicts_only(runs: list[ScannedRun], version: int) -> int:
    """Builds the record dicts only (what every library encoder needs first)."""
    return sum(len(records_of(run, version, raw_bytes=False)) for run in runs)


def compare(kind: str, commands: int, version: int, repeat: int) -> None:
    """Times every encoder on one workload in one format version; prints the ratios."""
    data = workload(kind, commands)
    fast = framed(data, RecordScanner(1, Direction.C2S, accelerate=True))
    slow = framed(data, RecordScanner(1, Direction.C2S, accelerate=False))
    named = encoders()
    base, expected = best(repeat, partial(named.pop("C"), fast, version))
    python, written = best(repeat, partial(encode_runs, slow, version))
    assert written == expected  # (the Python path writes the C path's bytes)
    rows = [("python (json)", python, True)]
    for name, fn in named.items():
        seconds, out = best(repeat, partial(fn, slow, version))
        rows.append((name, seconds, out == expected))
    rows.append(("dicts only", best(repeat, partial(dicts_only, slow, version))[0], True))
    per = 1e6 / commands
    size = len(data) / commands
    print(f"\n{kind}, format version {version} ({size:.0f} bytes/command)")
    print(f"  {'C':<14} {base * per:7.2f} us/command")
    for name, seconds, same in rows:
        note = "" if same else "  (other bytes than C)"
        print(f"  {name:<14} {seconds * per:7.2f} us/command  {seconds / base:5.2f} x C{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not accelerated():
        raise SystemExit("the C extension msproxy.capture._scan is not built")
    encoders(quiet=False)  # (says which library is missing, once)
    for kind in ("text", "binary", "lines", "mix"):
        for version in (2, 1):
            compare(kind, args.commands, version, args.repeat)


if __name__ == "__main__":
    main()
