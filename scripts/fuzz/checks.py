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

The fuzz targets (``framer_target.py``, ``capture_target.py``) call these under
atheris; ``tests/test_fuzz.py`` calls them on the seeds and on every input the fuzzer
found failing, so a finding stays fixed.
"""

from __future__ import annotations

from pathlib import Path

from msmgr.codec import Command, Direction, Framer, Limits, RemoteProtocolError
from msmgr.codec.events import CommandRun, Desync, Dialect, Event, Passthrough, Unparsed
from msmgr.codec.framer import accelerated
from msproxy.capture.format import CaptureFormatError, rebuild
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
