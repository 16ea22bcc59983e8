"""The filter language: each test against records checked independently, and its errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from msmgr.codec import Command
from msproxy.capture import Record, command_record, open_record, read_capture, record_command
from msproxy.view import filterlang
from msproxy.view.filterlang import FilterError, conjunction
from msproxy.view.subject import Subject, login_handle
from tests.capture.conftest import MD5_CHAT, TWN_LOGIN

Check = Callable[[Record], bool]


def records(path: object = MD5_CHAT) -> list[Record]:
    return [r for r in read_capture(path) if r["type"] != "header"]  # type: ignore[arg-type]


def command(record: Record) -> Command | None:
    return record_command(record) if record["type"] == "cmd" else None


def roles(path: object = MD5_CHAT) -> dict[int, str]:
    return {r["conn"]: r["role"] for r in records(path) if r["type"] == "open"}


def verb_is(*verbs: str) -> Check:
    return lambda r: r["type"] in ("cmd", "rewrite") and r["cmd"] in verbs


def cmd_check(test: Callable[[Command], bool]) -> Check:
    def check(record: Record) -> bool:
        found = command(record)
        return found is not None and test(found)

    return check


CASES: list[tuple[str, Check]] = [
    ("cmd MSG", verb_is("MSG")),
    ("cmd msg,usr", verb_is("MSG", "USR")),
    ("dir s2c", lambda r: r.get("dir") == "s2c"),
    ("role SB", lambda r: roles()[r["conn"]] == "SB"),
    ("role ds,ns", lambda r: roles()[r["conn"]] in ("DS", "NS")),
    ("conn 3", lambda r: r["conn"] == 3),
    ("conn SB#3,4", lambda r: r["conn"] in (3, 4)),
    ("conn DS#3", lambda r: False),
    ("trid 7", cmd_check(lambda c: c.trid == 7)),
    ("error", lambda r: r["type"] in ("error", "raw") or bool(cmd_check(lambda c: c.is_error)(r))),
    ("redirect", lambda r: r["type"] == "rewrite" or r.get("cmd") in ("XFR", "RNG")),
    ("open or close", lambda r: r["type"] in ("open", "close")),
    ("len > 100", cmd_check(lambda c: len(c.to_bytes()) > 100)),
    ("len<=20", cmd_check(lambda c: len(c.to_bytes()) <= 20)),
    ('payload ~ "text/plain"', cmd_check(lambda c: b"text/plain" in (c.payload or b""))),
    ("line ~ '^CAL'", cmd_check(lambda c: c.line.startswith("CAL"))),
    ("not cmd PNG,QNG,CHL,QRY", lambda r: not verb_is("PNG", "QNG", "CHL", "QRY")(r)),
    (
        "cmd MSG and not (dir c2s or conn 4)",
        lambda r: verb_is("MSG")(r) and r.get("dir") != "c2s" and r["conn"] != 4,
    ),
    (
        "cmd MSG or cmd CAL and dir c2s",
        lambda r: verb_is("MSG")(r) or (verb_is("CAL")(r) and r.get("dir") == "c2s"),
    ),
    ("not not role NS", lambda r: roles()[r["conn"]] == "NS"),
]


@pytest.mark.parametrize(("text", "check"), CASES, ids=[case[0] for case in CASES])
def test_each_test_selects_exactly_the_matching_records(text: str, check: Check) -> None:
    selector = filterlang.compile(text)
    got = [r for r in records() if selector(r)]
    assert got == [r for r in records() if check(r)]


@pytest.mark.parametrize("text", ["cmd MSG", "role SB", "error", "open", "len > 100"])
def test_tests_that_select_something_in_the_sample(text: str) -> None:
    assert any(filterlang.compile(text)(r) for r in records())  # the cases above are not vacuous


def two_sessions() -> list[Record]:
    """alice and bob each on a DS, an NS redirected from it and a switchboard (bob's
    answered by invitation), with a connection of nobody's in between."""

    def cmd(conn: int, line: str, direction: str = "c2s") -> Record:
        verb, trid, *args = line.split()
        return command_record(conn, direction, Command(verb, int(trid), tuple(args)), 1.0)

    def opened(conn: int, role: str, parent: int | None) -> Record:
        return open_record(conn, 1.0, role=role, client="c", upstream="u", parent=parent, via=None)

    return [
        opened(1, "DS", None),
        cmd(1, "VER 1 MSNP8 CVR0"),
        cmd(1, "USR 2 TWN I alice@example.com"),
        opened(2, "DS", None),
        cmd(2, "USR 2 TWN I bob@example.com"),
        opened(3, "NS", 1),
        cmd(3, "VER 3 MSNP8 CVR0"),  # before its own login: the parent's account
        opened(4, "NS", 2),
        opened(5, "SB", 3),
        cmd(5, "USR 1 alice@example.com 1.2.3"),
        opened(6, "SB", 4),
        cmd(6, "ANS 1 bob@example.com 4.5.6 77"),
        cmd(6, "MSG 2 N 0", "c2s"),
        opened(7, "DS", None),
        cmd(7, "VER 1 MSNP8 CVR0"),
    ]


@pytest.mark.parametrize(
    ("handle", "conns"),
    [("Alice@Example.com", {1, 3, 5}), ("bob@example.com", {2, 4, 6}), ("x@y.z", set())],
)
def test_handle_follows_the_session_through_redirects(handle: str, conns: set[int]) -> None:
    selector = filterlang.compile(f"handle {handle}")
    assert {r["conn"] for r in two_sessions() if selector(r)} == conns


def test_handle_covers_connections_before_their_own_login() -> None:
    """The NS connection inherits the DS's account from its open record's parent, so its
    VER/CVR lines, sent before its own USR, are in the session too; the DS's own first
    lines are selected once the filter has been primed with the capture."""
    everything = records(TWN_LOGIN)
    selector = filterlang.compile("handle alice@example.com")
    login = next(
        index
        for index, r in enumerate(everything)
        if r["type"] == "cmd" and r["cmd"] == "USR" and r["dir"] == "c2s"
    )
    assert everything[login]["conn"] == 1
    assert [r for r in everything if selector(r)] == everything[login:]
    primed = filterlang.compile("handle alice@example.com")
    assert primed.uses_sessions()
    assert not filterlang.compile("cmd MSG or role SB").uses_sessions()
    primed.prime(everything)
    assert [r for r in everything if primed(r)] == everything


def test_login_handle_reads_every_login_form() -> None:
    def handle(line: str, direction: str = "c2s") -> str | None:
        verb, trid, *args = line.split()
        return login_handle(direction, Command(verb, int(trid), tuple(args)))

    assert handle("USR 3 MD5 I Alice@example.com") == "alice@example.com"
    assert handle("USR 3 SSO I a@b.c") == "a@b.c"
    assert handle("USR 3 TWN S t=ticket") is None
    assert handle("USR 1 a@b.c;{0123} 1234.5678") == "a@b.c"
    assert handle("ANS 1 a@b.c 1234.5678 99") == "a@b.c"
    assert handle("USR 3 OK a@b.c Alice", "s2c") is None


def test_subjects_from_the_live_console() -> None:
    selector = filterlang.compile("role SB and cmd MSG and dir c2s")
    message = Command("MSG", 4, ("N", "3"), b"abc")
    assert selector(Subject.of_command(5, "c2s", message, role="SB"))
    assert not selector(Subject.of_command(5, "s2c", message, role="SB"))
    assert not selector(Subject.of_command(5, "c2s", message, role="NS"))


def test_verbs_lists_every_verb_named() -> None:
    assert filterlang.compile("cmd MSG or not (cmd usr,CAL and dir c2s)").verbs() == {
        "MSG",
        "USR",
        "CAL",
    }


def test_conjunction() -> None:
    assert conjunction(None, "") is None
    assert conjunction("cmd MSG", None) == "cmd MSG"
    assert conjunction("cmd MSG", "a or b") == "(cmd MSG) and (a or b)"


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("", 1, "empty filter"),
        ("cmd", 4, "'cmd' needs verbs"),
        ("cmd MSG and", 12, "expected a test"),
        ("cmd MSG or or", 12, "before 'or'"),
        ("(cmd MSG", 9, "expected ')'"),
        ("cmd MSG)", 8, "expected 'and', 'or' or the end"),
        ("bogus 5", 1, "unknown test 'bogus'"),
        ("dir up", 5, "c2s or s2c"),
        ("role XX", 6, "DS, NS or SB"),
        ("conn S#5", 6, "ids or names"),
        ("trid x", 6, "needs a number"),
        ("len 5", 5, "comparison"),
        ("len > big", 7, "needs a number"),
        ('payload "x"', 9, "expected '~'"),
        ('line ~ "("', 8, "invalid regular expression"),
        ('cmd MSG "x', 9, "never closed"),
        ("cmd MSG & dir c2s", 9, "not '&'"),
        ("cmd MSG ! x", 9, "unexpected '!'"),
        ("cmd MESSAGE", 5, "not an MSNP verb"),
    ],
)
def test_errors_name_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(FilterError) as info:
        filterlang.compile(text)
    assert info.value.column == column
    assert words in info.value.message
    lines = str(info.value).splitlines()
    assert lines[0].endswith(f"(column {column})")
    assert lines[2].index("^") - 2 == column - 1  # the caret sits under the column


def test_quoted_regex_keeps_its_backslashes() -> None:
    selector = filterlang.compile(r'line ~ "^MSG \d+ \"?N"')

    def line(trid: int, *args: str) -> Subject:
        return Subject.of_command(1, "c2s", Command("MSG", trid, args, b"x"))

    assert selector(line(12, "N", "1"))
    assert selector(line(12, '"N', "1"))  # \" is a quote
    assert not selector(line(12, "A", "1"))
    single = filterlang.compile(r"line ~ '\'N'")
    assert single(line(1, "'N", "1"))
