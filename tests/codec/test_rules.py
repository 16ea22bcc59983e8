"""Each framing rule is stated once, in msmgr.codec.tables, and every framer follows it.

``tables.payload_tokens`` (read by ``has_payload``) and ``tables.has_trid`` are the rules.
The Python framer looks them up through ``tables.VerbRules``; the C accelerator gets
the verb sets from ``framer.fast_rules`` and repeats the rule itself, for the verbs it
frames. These tests hold both framers to the rules, for every verb, both directions and
every version (None for unknown, MSNP2 to one past the last framed).
"""

from __future__ import annotations

import itertools
import string

import pytest

from msmgr.codec import Command, Dialect, Direction, Framer, Limits, has_payload, has_trid, tables
from msmgr.codec import framer as framer_module
from msmgr.codec.versions import MAX_VERSION, MIN_VERSION

C2S, S2C = Direction.C2S, Direction.S2C
VERSIONS: list[int | None] = [None, *range(MIN_VERSION, MAX_VERSION + 2)]
LETTER_VERBS = ["".join(t) for t in itertools.product(string.ascii_uppercase, repeat=3)]
NUMERIC_VERBS = [f"{n:03d}" for n in range(1000)]

needs_c = pytest.mark.skipif(framer_module._cframe is None, reason="C extension not built")


@pytest.fixture(scope="module", autouse=True)
def framer_path() -> str:
    """This file picks each path itself: run it once (overrides conftest's)."""
    return "both"


def shapes(verb: str) -> list[tuple[bytes, int]]:
    """Lines of ``verb`` ending in a number, each with a 5-byte payload after it: (the
    bytes, how many tokens follow the verb)."""
    return [(f"{verb} 5\r\nabcde".encode(), 1), (f"{verb} 7 5\r\nabcde".encode(), 2)]


def c_frame(direction: Direction, data: bytes) -> list[Command]:
    """The commands ``_cframe`` frames at the start of ``data`` (none: left to Python)."""
    assert framer_module._cframe is not None
    rules = framer_module.fast_rules(direction, Limits())
    _, commands = framer_module._cframe.frame(data, 0, *rules, Command)
    return list(commands)


@needs_c
@pytest.mark.parametrize("direction", [C2S, S2C])
def test_the_c_framer_follows_the_rules_for_every_verb(direction: Direction) -> None:
    slow = tables.DIALECT_VERBS[direction]
    framed = 0
    for verb in LETTER_VERBS:
        for data, after in shapes(verb):
            commands = c_frame(direction, data)
            if verb in slow:
                assert commands == [], f"{verb} depends on the version: C must leave it"
                continue
            assert len(commands) == 1, data
            command = commands[0]
            framed += 1
            # C knows no version: the rules must give it the same answer in every one
            payload = {has_payload(direction, verb, after, v) for v in VERSIONS}
            trid = {has_trid(direction, verb, v) for v in VERSIONS}
            assert payload == {command.payload is not None}, (direction, data, command)
            if after == 2 or command.payload is None:  # a first argument left to be a TrID
                assert trid == {command.trid is not None}, (direction, data, command)
    assert framed == 2 * (len(LETTER_VERBS) - len(slow))
    for verb in NUMERIC_VERBS:  # their framing depends on the version: Python's
        for data, _ in shapes(verb):
            assert c_frame(direction, data) == [], data


@pytest.mark.parametrize("direction", [C2S, S2C])
@pytest.mark.parametrize("version", VERSIONS)
def test_the_python_framer_follows_the_rules(direction: Direction, version: int | None) -> None:
    # every verb named in a table, every numeric verb, and a spread of the others
    verbs = sorted(
        set(tables.PAYLOAD_VERBS[C2S] | tables.PAYLOAD_VERBS[S2C])
        | set(tables.NO_TRID_VERBS[C2S] | tables.NO_TRID_VERBS[S2C])
        | set(tables.NO_TRID_SINCE)
        | {"VER", "USR", "NLN", "ZZZ"}
        | set(LETTER_VERBS[::97])
        | set(NUMERIC_VERBS[:: 1 if version in (None, 12, 13) else 37])
    )
    for verb in verbs:
        for data, after in shapes(verb):
            framer = Framer(direction, dialect=Dialect(version), accelerate=False)
            events = framer.feed(data)
            carried = has_payload(direction, verb, after, version)
            if carried:
                assert framer.pending == 0
                (command,) = events
                assert isinstance(command, Command)
                assert command.payload == b"abcde", data
                first = command.trid if after == 2 else None
            else:
                assert framer.pending == 5  # "abcde" waits for its line end
                (command,) = events
                assert isinstance(command, Command)
                assert command.payload is None, data
                first = command.trid
            if after == 2 or not carried:
                assert (first is not None) == has_trid(direction, verb, version), data


def test_the_rules_per_verb_are_remembered_within_a_bound() -> None:
    rules = tables.VerbRules(S2C, 13)
    for verb in LETTER_VERBS[: tables.MAX_CACHED_VERBS + 100]:
        rules.learn(verb)
        assert len(rules.payload_at) <= tables.MAX_CACHED_VERBS
    assert rules.learn("MSG") == 2  # "MSG len": the verb and one token
    assert rules.learn("241") == 3  # "241 trid len" from MSNP13 on
    assert tables.VerbRules(S2C, 12).learn("241") == tables.NO_PAYLOAD
    assert tables.verb_rules(S2C, 13) is tables.verb_rules(S2C, 13)


def test_a_version_change_within_one_feed_changes_the_rules() -> None:
    framer = Framer(S2C, dialect=Dialect(12), accelerate=False)
    events = framer.feed(b"241 1 5\r\nVER 2 MSNP13\r\n241 3 5\r\nhello")
    assert [(e.verb, e.args, e.payload) for e in events if isinstance(e, Command)] == [
        ("241", ("5",), None),
        ("VER", ("MSNP13",), None),
        ("241", (), b"hello"),
    ]
    assert framer.dialect.version == 13
