"""The framer: every command form, in any chunking, byte-exact; strict and tolerant modes."""

from __future__ import annotations

import pytest

from msmgr.codec import (
    Command,
    CommandRun,
    Desync,
    Dialect,
    Direction,
    Event,
    Framer,
    LimitExceeded,
    Limits,
    Passthrough,
    ProtocolError,
    Unparsed,
)

from .cases import CASES, Case

C2S = Direction.C2S
S2C = Direction.S2C


def framer_for(c: Case, *, strict: bool = True) -> Framer:
    return Framer(c.direction, strict=strict, dialect=Dialect(c.version))


def feed_chunks(framer: Framer, data: bytes, chunks: list[int]) -> list[Event]:
    """Feed ``data`` cut at the offsets in ``chunks``; return all events."""
    events: list[Event] = []
    start = 0
    for cut in [*chunks, len(data)]:
        events += framer.feed(data[start:cut])
        start = cut
    return events


def case_id(c: Case) -> str:
    return f"{c.direction.value}-v{c.version}-{c.wire[:40]!r}"


@pytest.mark.parametrize("c", CASES, ids=case_id)
def test_case_parses_to_expected_fields(c: Case) -> None:
    events = framer_for(c).feed(c.wire)
    assert len(events) == 1
    cmd = events[0]
    assert isinstance(cmd, Command)
    assert (cmd.verb, cmd.trid, cmd.args, cmd.payload) == (c.verb, c.trid, c.args, c.payload)
    assert cmd.raw == c.wire
    assert cmd.to_bytes() == c.wire


@pytest.mark.parametrize("c", CASES, ids=case_id)
def test_case_at_every_split_point_and_byte_by_byte(c: Case) -> None:
    expected = (c.verb, c.trid, c.args, c.payload, c.wire)
    for cuts in [*([cut] for cut in range(1, len(c.wire))), list(range(1, len(c.wire)))]:
        framer = framer_for(c)
        events = feed_chunks(framer, c.wire, cuts)
        assert len(events) == 1, cuts
        cmd = events[0]
        assert isinstance(cmd, Command)
        assert (cmd.verb, cmd.trid, cmd.args, cmd.payload, cmd.raw) == expected, cuts
        assert framer.pending == 0


@pytest.mark.parametrize("c", CASES, ids=case_id)
def test_case_built_in_code_serialises_to_the_wire_form(c: Case) -> None:
    built = Command(c.verb, c.trid, c.args, c.payload)
    assert built.to_bytes() == c.wire


@pytest.mark.parametrize("direction", [C2S, S2C])
def test_whole_stream_at_every_split_point_and_byte_by_byte(direction: Direction) -> None:
    selected = [
        c for c in CASES if c.direction is direction and c.version in (None, 13) and c.verb != "VER"
    ]
    stream = b"".join(c.wire for c in selected)
    expected = [(c.verb, c.trid, c.args, c.payload, c.wire) for c in selected]

    def fields(events: list[Event]) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        for e in events:
            assert isinstance(e, Command)
            out.append((e.verb, e.trid, e.args, e.payload, e.raw))
        return out

    def new() -> Framer:
        return Framer(direction, dialect=Dialect(13))

    assert fields(new().feed(stream)) == expected
    for cut in range(1, len(stream)):
        framer = new()
        assert fields(feed_chunks(framer, stream, [cut])) == expected, cut
        assert framer.pending == 0
    framer = new()
    assert fields(feed_chunks(framer, stream, list(range(1, len(stream))))) == expected


def test_bare_lf_is_accepted_and_kept() -> None:
    data = b"VER 1 MSNP8 CVR0\nMSG 2 N 3\nabcPNG\n"
    events = Framer(C2S).feed(data)
    assert [e.verb for e in events if isinstance(e, Command)] == ["VER", "MSG", "PNG"]
    assert b"".join(e.raw or b"" for e in events if isinstance(e, Command)) == data
    msg = events[1]
    assert isinstance(msg, Command)
    assert msg.payload == b"abc"
    assert msg.to_bytes() == b"MSG 2 N 3\nabc"
    assert msg.canonical_bytes() == b"MSG 2 N 3\r\nabc"


def test_payload_is_counted_in_bytes_not_characters() -> None:
    text = "✓✓".encode()
    cmd = Command("MSG", 4, ("N",), text)
    assert cmd.to_bytes() == b"MSG 4 N 6\r\n" + text
    [parsed] = Framer(C2S).feed(cmd.to_bytes())
    assert isinstance(parsed, Command)
    assert parsed.payload == text


def test_ver_reply_sets_the_shared_dialect_version() -> None:
    dialect = Dialect()
    client_side = Framer(C2S, dialect=dialect)
    server_side = Framer(S2C, dialect=dialect)
    client_side.feed(b"VER 1 MSNP8 MSNP7 CVR0\r\n")
    assert (dialect.version,) == (None,)  # the client only offers
    server_side.feed(b"VER 1 MSNP7\r\n")
    assert dialect.version == 7
    # LSG's leading number is a TrID in MSNP7 but a group id from MSNP8 on.
    [lsg7] = server_side.feed(b"LSG 8 12 1 2 0 Other 0\r\n")
    assert isinstance(lsg7, Command)
    assert lsg7.trid == 8
    server_side.feed(b"VER 2 MSNP8\r\n")
    [lsg8] = server_side.feed(b"LSG 0 Other 0\r\n")
    assert isinstance(lsg8, Command)
    assert lsg8.trid is None


def test_error_with_three_tokens_has_no_payload_before_msnp13() -> None:
    [cmd] = Framer(S2C, dialect=Dialect(12)).feed(b"241 8 120\r\n")
    assert isinstance(cmd, Command)
    assert (cmd.trid, cmd.args, cmd.payload) == (8, ("120",), None)


def test_payload_verb_without_numeric_last_token_is_a_plain_line() -> None:
    [cmd] = Framer(C2S).feed(b"MSG 1 N abc\r\n")
    assert isinstance(cmd, Command)
    assert (cmd.trid, cmd.args, cmd.payload) == (1, ("N", "abc"), None)


def test_non_canonical_lines_round_trip_exactly() -> None:
    data = b"CHG 007 NLN  0\r\nNLN NLN a@b.c Bob \r\n"
    events = Framer(S2C).feed(data)
    assert b"".join(e.to_bytes() for e in events if isinstance(e, Command)) == data


# -- strict mode ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"\r\n", b"msg 1 N 3\r\nabc", b"HELLO world\r\n", b"POST / HTTP/1.1\r\n", b"\xff\xfe\r\n"],
)
def test_strict_mode_rejects_lines_that_are_not_commands(data: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        Framer(C2S).feed(data)
    assert repr(data[:10])[2:-1][:5] in str(info.value)  # the message names the bytes


def test_strict_mode_line_limit() -> None:
    framer = Framer(C2S, limits=Limits(max_line=64))
    framer.feed(b"A" * 60)
    with pytest.raises(LimitExceeded, match="line longer than 64"):
        framer.feed(b"A" * 10)


def test_strict_mode_line_limit_counts_the_line_end() -> None:
    framer = Framer(C2S, limits=Limits(max_line=10))
    assert len(framer.feed(b"PNG 123\r\n")) == 1  # 9 bytes
    assert len(framer.feed(b"PNG 1234\r\n")) == 1  # 10 bytes
    with pytest.raises(LimitExceeded):
        framer.feed(b"PNG 12345\r\n")  # 11 bytes


def test_strict_mode_payload_limit() -> None:
    framer = Framer(C2S, limits=Limits(max_payload=100))
    assert framer.feed(b"MSG 1 N 100\r\n" + b"x" * 100)
    with pytest.raises(LimitExceeded, match="payload of 101 bytes"):
        framer.feed(b"MSG 2 N 101\r\n")


def test_strict_mode_eof_in_the_middle_of_a_payload() -> None:
    framer = Framer(C2S)
    assert framer.feed(b"MSG 1 N 10\r\nabc") == []
    assert framer.pending == len(b"MSG 1 N 10\r\nabc")
    with pytest.raises(ProtocolError, match="closed in the middle"):
        framer.close()


def test_close_with_nothing_pending_is_quiet() -> None:
    framer = Framer(C2S)
    framer.feed(b"PNG\r\n")
    assert framer.close() == []


# -- tolerant mode ----------------------------------------------------------------


def test_tolerant_mode_passes_garbage_lines_on_unchanged() -> None:
    data = b"VER 1 MSNP8 CVR0\r\nPOST / HTTP/1.1\r\n\r\nPNG\r\n"
    events = Framer(C2S, strict=False).feed(data)
    assert [type(e).__name__ for e in events] == [
        "Command",
        "Unparsed",
        "Unparsed",
        "Command",
    ]
    rebuilt = [
        e.to_bytes() if isinstance(e, Command) else e.raw
        for e in events
        if not isinstance(e, Desync | Passthrough)
    ]
    assert b"".join(rebuilt) == data


def test_tolerant_mode_desyncs_once_then_passes_everything_through() -> None:
    framer = Framer(C2S, strict=False, limits=Limits(max_payload=10))
    events = framer.feed(b"PNG\r\nMSG 1 N 11\r\nhello world")
    assert isinstance(events[0], Command)
    assert isinstance(events[1], Desync)
    assert "payload of 11 bytes" in events[1].reason
    assert events[2] == Passthrough(b"MSG 1 N 11\r\nhello world")
    assert framer.desynced
    assert framer.feed(b"PNG\r\n") == [Passthrough(b"PNG\r\n")]
    assert framer.feed(b"") == []
    assert framer.close() == []


def test_tolerant_mode_flood_without_line_end_stays_bounded() -> None:
    framer = Framer(C2S, strict=False, limits=Limits(max_line=1000))
    seen: list[Event] = []
    for _ in range(100):
        seen += framer.feed(b"x" * 100)
        assert framer.pending <= 1000
    assert isinstance(seen[0], Desync)
    passed = b"".join(e.data for e in seen if isinstance(e, Passthrough))
    assert passed == b"x" * 10_000


def test_tolerant_mode_eof_mid_command_returns_the_rest() -> None:
    framer = Framer(S2C, strict=False)
    framer.feed(b"MSG a@b.c A 10\r\nabc")
    assert framer.close() == [
        Unparsed(b"MSG a@b.c A 10\r\nabc", "connection closed in the middle of a command")
    ]


def png_scanner(work: bytes, pos: int) -> tuple[int, int, bytes]:
    """A bulk scanner that takes runs of complete ``PNG`` lines only."""
    count = 0
    while work.startswith(b"PNG\r\n", pos):
        pos += 5
        count += 1
    return pos, count, b"P" * count


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_a_bulk_scanner_takes_the_runs_it_handles_and_the_framer_the_rest(size: int) -> None:
    wire = b"PNG\r\nPNG\r\nCAL 1 bob\r\nPNG\r\nMSG 2 N 5\r\nPNG\r\nPNG\r\nbad line\nPNG\r\nPN"
    framer = Framer(Direction.C2S, strict=False, bulk=png_scanner)
    events = []
    for i in range(0, len(wire), size):
        events += framer.feed(wire[i : i + size])
    events += framer.close()
    raw = b"".join(
        (e.raw or b"") if isinstance(e, CommandRun | Command | Unparsed) else b"" for e in events
    )
    assert raw == wire  # every byte once, in order
    # the five whole PNG lines went to the scanner (the one in MSG's payload is payload)
    assert sum(e.count for e in events if isinstance(e, CommandRun)) == 5
    commands = [e for e in events if isinstance(e, Command)]
    assert [c.verb for c in commands] == ["CAL", "MSG"]
    assert commands[1].payload == b"PNG\r\n"
    assert [e.raw for e in events if isinstance(e, Unparsed)] == [b"bad line\n", b"PN"]
    assert all(e.data == b"P" * e.count for e in events if isinstance(e, CommandRun))
