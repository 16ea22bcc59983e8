"""scripts/fuzz/checks: what the fuzz targets hold for any input, without atheris.

``framer_case(data)``: the first two bytes choose a direction, a dialect, limits and a
chunk size; the rest is one direction's byte stream. Tolerant framing never raises and
gives back every byte, in order, in its events (and, at the end, what is left); the
same stream in one piece and in chunks gives the same events; the C accelerator, when
built, gives the same events as Python; strict framing raises only
``RemoteProtocolError``.

``capture_case(data, path)``: ``data`` written to ``path`` as a capture file; reading it
(``load_capture``: every record, ``run`` records expanded) and rebuilding each record's
bytes raise nothing but ``CaptureFormatError``.

``injector_case(data)``: the first byte chooses fault rules, the second a chunk size;
the rest is one direction's byte stream, handed to a ``FaultInjector``. It never
raises; in one piece and in chunks it writes the same bytes and the same ``fault``
records; and what it writes is exactly what ``docs/capture-format.md`` (section 2.9)
says a reader gets from the stream and those records (``received``).

The fuzz targets (``*_target.py``) call these under
atheris; ``tests/test_fuzz.py`` calls them on the seeds and on every input the fuzzer
found failing, so a finding stays fixed.
"""

from __future__ import annotations

from pathlib import Path

from msmgr.codec import Command, Direction, Framer, Limits, RemoteProtocolError
from msmgr.codec.events import CommandRun, Desync, Dialect, Event, Passthrough, Unparsed
from msmgr.codec.framer import accelerated
from msproxy.capture import Record
from msproxy.capture.format import CaptureFormatError, rebuild
from msproxy.faults import Applied, Close, FaultInjector, Step, Write, parse_rule
from msproxy.inspect.model import load_capture

VERSIONS = (None, 2, 5, 8, 9, 10, 12, 15, 18)
LIMITS = (Limits(), Limits(max_line=64, max_payload=256), Limits(max_line=8, max_payload=8))

Piece = tuple[str, bytes]


def _pieces(events: list[Event]) -> list[Piece]:
    """The events as (kind, bytes), runs of Passthrough joined (their split follows the
    chunks)."""
    out: list[Piece] = []
    for event in events:
        if isinstance(event, Command):
            assert event.raw is not None
            out.append(("cmd", event.raw))
        elif isinstance(event, Unparsed):
            out.append(("unparsed", event.raw))
        elif isinstance(event, Desync):
            out.append(("desync", b""))
        elif isinstance(event, Passthrough):
            if out and out[-1][0] == "pass":
                out[-1] = ("pass", out[-1][1] + event.data)
            elif event.data:
                out.append(("pass", event.data))
        elif isinstance(event, CommandRun):  # pragma: no cover - no bulk scanner here
            out.append(("run", bytes(event.raw)))
    return out


def _tolerant(
    chunks: list[bytes], direction: Direction, version: int | None, limits: Limits, fast: bool
) -> tuple[list[Piece], int]:
    framer = Framer(
        direction, strict=False, dialect=Dialect(version), limits=limits, accelerate=fast
    )
    events: list[Event] = []
    for chunk in chunks:
        events += framer.feed(chunk)
    pending = framer.pending
    events += framer.close()
    return _pieces(events), pending


def _strict(chunks: list[bytes], direction: Direction, version: int | None, limits: Limits) -> None:
    framer = Framer(direction, strict=True, dialect=Dialect(version), limits=limits)
    try:
        for chunk in chunks:
            framer.feed(chunk)
        framer.close()
    except RemoteProtocolError:
        pass


def framer_case(data: bytes) -> None:
    """One framer case (see the module docstring); an AssertionError is a finding."""
    if len(data) < 3:
        return
    direction = Direction.C2S if data[0] & 1 else Direction.S2C
    version = VERSIONS[(data[0] >> 1) % len(VERSIONS)]
    limits = LIMITS[(data[0] >> 5) % len(LIMITS)]
    step = data[1] % 17 + 1
    stream = data[2:]
    whole = [stream]
    chunks = [stream[i : i + step] for i in range(0, len(stream), step)]
    one, one_pending = _tolerant(whole, direction, version, limits, False)
    assert b"".join(p[1] for p in one) == stream, "tolerant framer lost or changed bytes"
    split, _ = _tolerant(chunks, direction, version, limits, False)
    assert split == one, ("chunking changed the events", one, split)
    if accelerated():
        fast, fast_pending = _tolerant(chunks, direction, version, limits, True)
        assert fast == one, ("the C framer differs", one, fast)
        fast, fast_pending = _tolerant(whole, direction, version, limits, True)
        assert (fast, fast_pending) == (one, one_pending), ("the C framer differs", one, fast)
    _strict(chunks, direction, version, limits)


def capture_case(data: bytes, path: Path) -> None:
    """One capture-reader case: ``data`` as the file at ``path`` (overwritten)."""
    path.write_bytes(data)
    try:
        capture = load_capture(path)
        for record in capture.records:
            rebuild(record)
    except CaptureFormatError:
        pass


RULES = (
    "action=drop,cmd=MSG",
    "action=drop,every=2",
    "action=drop,prob=0.3,seed=1",
    "action=delay,ms=0,jitter=5,seed=2",
    "action=reset,cmd=PNG,nth=2",
    "action=stall,cmd=NLN",
    "action=rechunk,bytes=3",
    "action=cut,after=40",
    "action=cut,after=0,cmd=CHG",
    "action=drop,cmd=911|QNG,dir=s2c",
)


def received(stream: bytes, records: list[Record]) -> bytes:
    """What the receiver got of ``stream`` given its ``fault`` records, by the rule of
    the capture format (section 2.9)."""
    stop = len(stream)
    for record in records:
        if record["action"] in ("stall", "reset"):
            stop = min(stop, record["offset"])
    keep = bytearray(b"\x01" * stop)
    for record in records:
        if record["action"] == "drop":  # (two rules may drop the same command)
            start, end = record["offset"], record["offset"] + record["size"]
            keep[start:end] = bytes(len(keep[start:end]))
    positions = [i for i in range(stop) if keep[i]]
    for record in records:
        if record["action"] == "cut":
            went_on = [i for i in positions if i >= record["offset"]]
            if len(went_on) >= record["after"]:
                end = went_on[record["after"]] if len(went_on) > record["after"] else stop
                positions = [i for i in positions if i < end]
    return bytes(stream[i] for i in positions)


def _inject(rules: list[str], direction: Direction, chunks: list[bytes]) -> list[Step]:
    injector = FaultInjector([parse_rule(r) for r in rules], conn=1, role="NS")
    steps: list[Step] = []
    for chunk in chunks:
        steps += injector.forward(direction, chunk, 0.0)
    steps += injector.finish(direction, 0.0)
    return steps


def injector_case(data: bytes) -> None:
    """One fault-injector case (see the module docstring)."""
    if len(data) < 3:
        return
    rules = [RULES[data[0] % len(RULES)], RULES[(data[0] >> 4) % len(RULES)]]
    direction = Direction.C2S if data[1] & 1 else Direction.S2C
    step = data[1] // 2 % 17 + 1
    stream = data[2:]
    whole = _inject(rules, direction, [stream])
    chunked = _inject(rules, direction, [stream[i : i + step] for i in range(0, len(stream), step)])
    written = b"".join(s.data for s in whole if isinstance(s, Write))
    records = [s.record for s in whole if isinstance(s, Applied)]
    assert written == b"".join(s.data for s in chunked if isinstance(s, Write)), "chunking"
    assert records == [s.record for s in chunked if isinstance(s, Applied)], "chunking"
    assert written == received(stream, records), (rules, written, records)
    assert all(isinstance(s, Close) for s in whole[-1:] if isinstance(s, Close))
