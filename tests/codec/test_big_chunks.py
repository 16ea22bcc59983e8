"""Big chunks after a partial command: the framer completes that command from the
chunk's first bytes and parses the rest in place (no copy of the chunk); the events are
those of feeding everything at once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from msmgr.codec import (
    Command,
    CommandRun,
    Desync,
    Direction,
    Event,
    Framer,
    Limits,
    Passthrough,
    Unparsed,
)
from msmgr.codec import framer as framer_module
from msmgr.codec.framer import _HEAD
from msproxy.capture.scan import RecordScanner
from tests.msnp_streams import chunked, stream

C2S, S2C = Direction.C2S, Direction.S2C
BIG = 2 * _HEAD + 1  # the smallest chunk taken in place


def normalised(events: list[Event]) -> list[tuple[str, object]]:
    """Events as comparable values: runs as their commands' bytes, consecutive
    Passthrough bytes merged."""
    out: list[tuple[str, object]] = []
    for event in events:
        if isinstance(event, Command):
            out.append(("cmd", (event.verb, event.trid, event.args, event.payload, event.raw)))
        elif isinstance(event, CommandRun):
            out.append(("run", bytes(event.raw)))
        elif isinstance(event, Unparsed):
            out.append(("unparsed", (event.raw, event.reason)))
        elif isinstance(event, Desync):
            out.append(("desync", event.reason))
        elif isinstance(event, Passthrough):
            if out and out[-1][0] == "passthrough":
                previous = out.pop()[1]
                assert isinstance(previous, bytes)
                out.append(("passthrough", previous + event.data))
            else:
                out.append(("passthrough", event.data))
    return out


def feed_all(framer: Framer, chunks: list[bytes]) -> list[Event]:
    events: list[Event] = []
    for chunk in chunks:
        events += framer.feed(chunk)
    return events + framer.close()


def as_commands(events: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Runs split back into nothing but their bytes, for comparing a bulk framer's
    events with a plain one's (a run's boundaries depend on the chunking)."""
    out: list[tuple[str, object]] = []
    for kind, value in events:
        if kind == "cmd":
            assert isinstance(value, tuple)
            kind, value = "run", value[-1]
        if kind == "run" and out and out[-1][0] == "run":
            previous = out.pop()[1]
            assert isinstance(previous, bytes)
            assert isinstance(value, bytes)
            value = previous + value
        out.append((kind, value))
    return out


@given(
    st.sampled_from([C2S, S2C]),
    st.lists(stream(), min_size=1, max_size=4),
    st.integers(1, 300),
    st.lists(st.integers(0, 80_000), max_size=4),
    st.sampled_from([None, Limits(max_line=40, max_payload=30)]),
    st.booleans(),
)
@settings(max_examples=100, deadline=None)
def test_big_chunks_frame_as_one_feed(
    direction: Direction,
    streams: list[bytes],
    first: int,
    cuts: list[int],
    limits: Limits | None,
    bulk: bool,
) -> None:
    unit = b"".join(streams)
    data = unit * (3 * BIG // max(len(unit), 1) + 2)
    # a small first chunk (leaves a partial command), then big ones
    chunks = [data[:first], *chunked(data[first:], [c for c in cuts if c > BIG])]
    whole = normalised(feed_all(Framer(direction, strict=False, limits=limits), [data]))
    # the capture's scanner: C beside the codec's C accelerator, else Python
    fast = None if framer_module.accelerated() else False
    scanner = RecordScanner(1, direction, limits=limits, accelerate=fast) if bulk else None
    framer = Framer(direction, strict=False, limits=limits, bulk=scanner)
    pieces = normalised(feed_all(framer, chunks))
    if scanner is None:
        assert pieces == whole
    else:
        assert as_commands(pieces) == as_commands(whole)


def test_a_command_longer_than_the_head_joins_the_whole_chunk() -> None:
    payload = bytes(range(256)) * 80  # 20,480 bytes
    wire = b"MSG 1 D %d\r\n" % len(payload) + payload + b"PNG\r\n"
    framer = Framer(C2S)
    assert framer.feed(wire[:100]) == []
    events = framer.feed(wire[100:])
    assert [type(e) for e in events] == [Command, Command]
    assert isinstance(events[0], Command)
    assert events[0].raw == wire[:-5]
    assert events[0].payload == payload
    assert framer.pending == 0


def test_a_desync_in_the_head_makes_the_rest_of_the_chunk_one_passthrough() -> None:
    limits = Limits(max_line=100)
    rest = b"\n" + b"x" * (3 * BIG)  # a line far over the limit, in the big chunk
    framer = Framer(C2S, strict=False, limits=limits)
    assert framer.feed(b"PNG\r") == []
    events = framer.feed(rest)
    assert [type(e) for e in events] == [Command, Desync, Passthrough]
    assert isinstance(events[2], Passthrough)
    assert events[2].data == b"x" * (3 * BIG)
    assert framer.feed(b"more") == [Passthrough(b"more")]
