"""scripts/fuzz/framer_target: atheris target for the codec's ``Framer``.

What it holds, for any bytes in any chunking, in each direction and dialect:

* tolerant mode never raises, and every byte fed comes out again, in order, in the
  events' exact bytes or as still pending (nothing dropped or changed);
* the same bytes in one piece and in the fuzzer's chunks give the same events;
* the C accelerator, when built, gives the same events as the pure Python framer;
* strict mode raises nothing but ``RemoteProtocolError``.

Run by ``scripts/fuzz/run.py``; alone: ``python scripts/fuzz/framer_target.py -max_total_time=60``.
"""

from __future__ import annotations

import sys

import atheris
from atheris.import_hook import instrument_imports

with instrument_imports():
    from msmgr.codec import Command, Direction, Framer, Limits, RemoteProtocolError
    from msmgr.codec.events import CommandRun, Desync, Dialect, Event, Passthrough, Unparsed
    from msmgr.codec.framer import accelerated

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


def test_one_input(data: bytes) -> None:
    """One fuzz case: a header byte or two choosing the setting, then the stream."""
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


def main() -> None:
    """Run the fuzzer with libFuzzer's command line (``-max_total_time=N`` and so on)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
