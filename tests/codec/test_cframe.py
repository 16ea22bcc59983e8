"""The Framer's C accelerator (msmgr.codec._cframe) gives what the Python framer gives.

The Python framer is the definition of framing; the accelerator repeats its common case.
These tests feed the same streams, in the same chunks, to a framer with it and one
without, in both modes, with and without a known version, and require the same events
(and the same exact bytes in each), the same errors and the same negotiated version.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msmgr.codec import (
    Command,
    Dialect,
    Direction,
    Event,
    Framer,
    Limits,
    ProtocolError,
)
from msmgr.codec import framer as framer_module
from tests.msnp_streams import chunked, stream

C2S, S2C = Direction.C2S, Direction.S2C

Outcome = tuple[list[object], list[bytes | None], int | None]


def test_the_c_extension_is_built() -> None:
    # Optional for an install, but the project's own runs must have it: the C half of
    # the codec suite and this file would prove nothing without it.
    assert framer_module._cframe is not None, (
        "msmgr.codec._cframe is not built: install with a C compiler present "
        "(pip install -e '.[test]' builds it in place)"
    )


needs_c = pytest.mark.skipif(framer_module._cframe is None, reason="C extension not built")


@pytest.fixture(scope="module", autouse=True)
def framer_path() -> str:
    """This file compares the two paths itself: run it once (overrides conftest's)."""
    return "both"


def run(
    chunks: list[bytes],
    *,
    accelerate: bool,
    direction: Direction,
    strict: bool,
    limits: Limits | None,
    version: int | None,
) -> Outcome:
    """Every event (or the error) of one framer fed ``chunks``, their bytes, the version."""
    dialect = Dialect(version)
    framer = Framer(direction, strict=strict, dialect=dialect, limits=limits, accelerate=accelerate)
    events: list[Event] = []
    outcome: list[object] = []
    try:
        for chunk in chunks:
            events += framer.feed(chunk)
        events += framer.close()
    except ProtocolError as exc:
        outcome.append((type(exc).__name__, str(exc)))
    raws = [e.raw if isinstance(e, Command) else getattr(e, "raw", None) for e in events]
    return [*events, *outcome], raws, dialect.version


@needs_c
@given(
    st.sampled_from([C2S, S2C]),
    st.lists(stream(), min_size=1, max_size=3),
    st.lists(st.integers(0, 2000), max_size=6),
    st.booleans(),
    st.sampled_from([None, Limits(max_line=40, max_payload=30)]),
    st.sampled_from([None, 2, 8, 13]),
)
@settings(max_examples=400, deadline=None)
def test_generated_streams_frame_the_same(
    direction: Direction,
    streams: list[bytes],
    cuts: list[int],
    strict: bool,
    limits: Limits | None,
    version: int | None,
) -> None:
    chunks = chunked(b"".join(streams), cuts)
    both = [
        run(
            chunks, accelerate=c, direction=direction, strict=strict, limits=limits, version=version
        )
        for c in (True, False)
    ]
    assert both[0] == both[1]


@needs_c
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=4))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_frame_the_same(data: bytes, cuts: list[int]) -> None:
    for direction in (C2S, S2C):
        chunks = chunked(b"VER 1 MSNP8 CVR0\r\nMSG 1 N 3\r\nabc" + data, cuts)
        both = [
            run(chunks, accelerate=c, direction=direction, strict=False, limits=None, version=None)
            for c in (True, False)
        ]
        assert both[0] == both[1]


@needs_c
def test_the_server_version_still_decides_later_framing() -> None:
    # VER from the server is left to the Python framer (it sets the version), and the
    # numeric error after it frames by that version: MSNP13+ errors carry a payload.
    framer = Framer(S2C, strict=True, accelerate=True)
    events = framer.feed(b"VER 1 MSNP13\r\nCVR 2 x\r\n241 3 5\r\nhello" + b"NLN NLN a@b A 0\r\n")
    assert framer.dialect.version == 13
    assert [(e.verb, e.payload) for e in events if isinstance(e, Command)] == [
        ("VER", None),
        ("CVR", None),
        ("241", b"hello"),
        ("NLN", None),
    ]


def test_accelerate_true_needs_the_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framer_module, "_cframe", None)
    assert not framer_module.accelerated()
    with pytest.raises(RuntimeError, match="not built"):
        Framer(C2S, accelerate=True)
    assert Framer(C2S).feed(b"PNG\r\n") == [Command("PNG")]  # the Python path
