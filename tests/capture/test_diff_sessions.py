"""``msproxy diff`` for tests to lean on: pairing by session, ``ignore_cmd``, moved server
notifications (``reorder_window``), equal inputs, and the alignment under it."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import msproxy.inspect.align as align
from msproxy.__main__ import main
from msproxy.capture import CaptureFormatError, Record, read_capture
from msproxy.cli.diff import _progress
from msproxy.inspect import load_capture
from msproxy.inspect.diff import diff_captures, diff_files, diff_json, format_diff
from msproxy.inspect.model import make_capture
from msproxy.inspect.pairing import pair_connections, sessions

from .conftest import MD5_CHAT, header, write_lines
from .make_samples import SAMPLES

BURST = SAMPLES / "msnp12-sb-burst.jsonl"  # format version 2: run records

Line = tuple[str, str, int | None, tuple[str, ...]]  # (dir, verb, trid, args)


def connection(conn: int, role: str, lines: list[Line], parent: int | None = None) -> list[Record]:
    """The records of one connection: ``open`` then its commands."""
    out: list[Record] = [
        {
            "type": "open",
            "t": 1000.0 + conn,
            "conn": conn,
            "role": role,
            "client": "127.0.0.1:5000",
            "upstream": "127.0.0.1:1863",
            "parent": parent,
            "via": "XFR" if parent else None,
        }
    ]
    out.extend(
        {
            "type": "cmd",
            "t": 1000.0 + conn,
            "conn": conn,
            "dir": direction,
            "cmd": verb,
            "trid": trid,
            "args": list(args),
        }
        for direction, verb, trid, args in lines
    )
    return out


def login(handle: str, *after: Line, ok: bool = True) -> list[Line]:
    """An MD5 login on an NS, then ``after``."""
    answer: Line = ("s2c", "USR", 2, ("OK", handle, "Name")) if ok else ("s2c", "911", 2, ())
    return [
        ("c2s", "VER", 1, ("MSNP7", "CVR0")),
        ("s2c", "VER", 1, ("MSNP7",)),
        ("c2s", "USR", 2, ("MD5", "I", handle)),
        answer,
        *after,
    ]


def capture(*connections: list[Record]) -> list[Record]:
    return [header(), *(record for records in connections for record in records)]


ALICE = login("alice@example.com", ("c2s", "CHG", 3, ("NLN", "0")), ("s2c", "CHG", 3, ("NLN",)))
BOB = login("bob@example.com", ("c2s", "CHG", 3, ("AWY", "0")), ("s2c", "CHG", 3, ("AWY",)))


def test_an_extra_failed_login_does_not_shift_the_later_pairs() -> None:
    a = capture(connection(1, "NS", ALICE), connection(2, "NS", BOB))
    failed = login("mallory@example.com", ok=False)
    b = capture(connection(1, "NS", ALICE), connection(2, "NS", failed), connection(3, "NS", BOB))
    diffs = diff_captures(a, b)
    assert [(d.label, d.unpaired, d.a_conn, d.b_conn) for d in diffs] == [
        ("mallory@example.com NS", "b", None, 2)
    ]
    assert (diffs[0].added, diffs[0].removed) == (len(failed), 0)
    text = format_diff(diffs, "a.jsonl", "b.jsonl")
    assert text.startswith(
        "=== mallory@example.com NS: unpaired, only in b.jsonl\n--- /dev/null\n+++ b.jsonl NS#2\n"
    )
    (data,) = diff_json(diffs)
    assert (data["session"], data["unpaired"]) == ("mallory@example.com", "b")


def test_by_order_alone_the_same_captures_would_differ_everywhere() -> None:
    """What pairing by session avoids: bob's NS compared with the failed login, and the
    failed login is not bob's even when the handle is the same account's."""
    a = capture(connection(1, "NS", ALICE), connection(2, "NS", BOB))
    b = capture(
        connection(1, "NS", ALICE),
        connection(2, "NS", login("bob@example.com", ok=False)),
        connection(3, "NS", BOB),
    )
    first, second = diff_captures(a, b)
    # bob's first NS is paired with the failed one, bob's second is unpaired: same session
    assert (first.label, first.a_conn, first.b_conn) == ("bob@example.com NS", 2, 2)
    assert (second.label, second.unpaired, second.b_conn) == ("bob@example.com NS 2", "b", 3)
    pairs = pair_connections(make_capture(a), make_capture(b))
    assert [(p.label, p.unpaired) for p in pairs] == [
        ("alice@example.com NS", None),
        ("bob@example.com NS", None),
        ("bob@example.com NS 2", "b"),
    ]


def test_a_switchboard_belongs_to_the_session_that_logged_in_on_it() -> None:
    records = capture(
        connection(1, "NS", ALICE),
        connection(2, "SB", [("c2s", "USR", 1, ("bob@example.com", "123.456"))], parent=1),
        connection(3, "SB", [("c2s", "ANS", 1, ("alice@example.com", "9.9", "77"))], parent=1),
        connection(4, "SB", [("c2s", "CAL", 2, ("bob@example.com",))], parent=1),
        connection(5, "DS", []),
    )
    assert sessions(make_capture(records)) == {
        1: "alice@example.com",
        2: "bob@example.com",
        3: "alice@example.com",
        4: "alice@example.com",  # no login of its own: its parent's
        5: None,
    }


def chl(trid: int) -> list[Line]:
    return [
        ("s2c", "CHL", 0, ("29409134351025259292",)),
        ("c2s", "QRY", trid, ("msmsgs@msnmsgr.com", "32")),
        ("s2c", "QRY", trid, ()),
    ]


def test_challenges_interleaving_differently_are_ignored_by_verb() -> None:
    """Two runs of one scripted session: the server's CHL (and so the client's QRY) came
    before the OUT in one run and after the CHG in the other."""
    a = capture(connection(1, "NS", [*ALICE, *chl(4), ("c2s", "OUT", None, ())]))
    b = capture(connection(1, "NS", [*ALICE[:4], *chl(3), *ALICE[4:], ("c2s", "OUT", None, ())]))
    assert diff_captures(a, b) != []
    assert diff_captures(a, b, ignore_cmd=["CHL", "QRY"]) == []
    assert diff_captures(a, b, ignore_cmd="chl,qry,png,qng") == []
    assert diff_captures(a, b, ignore_cmd=["CHL"]) != []  # the QRY exchange still moved


def notifications(*order: int) -> list[Line]:
    """Alice's login, then four requests and replies with server notifications between:
    ``order`` lists where NLN ``n`` goes (its index among the eight commands)."""
    work: list[Line] = []
    for n in range(4):
        work += [("c2s", "CHG", 10 + n, ("NLN", "0")), ("s2c", "CHG", 10 + n, ("NLN",))]
    for number, place in enumerate(order):
        work.insert(place, ("s2c", "NLN", None, ("NLN", f"user{number}@example.com", "U")))
    return [*ALICE, *work]


def test_a_server_notification_may_move_within_the_window() -> None:
    a = capture(connection(1, "NS", notifications(2)))
    b = capture(connection(1, "NS", notifications(4)))  # moved past one exchange: 2 commands
    assert diff_captures(a, b, reorder_window=2) == []
    assert diff_captures(a, b) == []  # the default window is 3
    (diff,) = diff_captures(a, b, reorder_window=1)
    assert (diff.removed, diff.added) == (1, 1)
    (diff,) = diff_captures(a, b, reorder_window=0)
    assert (diff.removed, diff.added) == (1, 1)
    far = capture(connection(1, "NS", notifications(8)))  # six commands away
    (diff,) = diff_captures(a, far)
    lines = [line for hunk in diff.hunks for line in hunk.lines if line.tag != " "]
    assert [line.text for line in lines] == [
        "<- NLN NLN user0@example.com U",
        "<- NLN NLN user0@example.com U",
    ]
    assert diff_captures(a, far, reorder_window=6) == []


def test_a_reply_that_moved_is_a_difference() -> None:
    """A reply answers a pending request: its place is not free."""
    base = notifications()
    moved = [*base[:-3], base[-1], base[-3], base[-2]]  # the last CHG reply before its request
    (diff,) = diff_captures(capture(connection(1, "NS", base)), capture(connection(1, "NS", moved)))
    assert diff.removed + diff.added == 2


def test_equal_captures_and_the_same_capture() -> None:
    records = list(capture(connection(1, "NS", notifications(1, 3))))
    assert diff_captures(records, records) == []
    assert diff_captures(records, [dict(r) for r in records]) == []
    with pytest.raises(ValueError, match="unknown connection role"):
        diff_captures(records, records, roles=["XX"])
    with pytest.raises(ValueError, match="negative"):
        diff_captures(records, capture(), reorder_window=-1)


def test_cli_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_lines(tmp_path / "a.jsonl", capture(connection(1, "NS", [*ALICE, *chl(4)])))
    b = write_lines(tmp_path / "b.jsonl", capture(connection(1, "NS", [*ALICE[:4], *chl(3)])))
    assert main(["diff", "-q", str(a), str(b)]) == 1
    assert main(["diff", "-q", str(a), str(b), "--ignore-cmd", "CHL,QRY,CHG"]) == 0
    assert main(["diff", "-q", str(a), str(b), "--ignore-cmd", "CHL", "--ignore-cmd", "QRY"]) == 1
    assert main(["diff", "-q", str(a), str(b), "--reorder-window", "-1"]) == 2
    assert "--reorder-window must not be negative" in capsys.readouterr().err


def test_cli_same_file_is_equal_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(MD5_CHAT), str(MD5_CHAT)]) == 0
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(MD5_CHAT.read_bytes())
    assert main(["diff", "--json", str(MD5_CHAT), str(copy)]) == 0
    assert json.loads(capsys.readouterr().out) == []
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"\x00\x01 not a capture\n")
    assert main(["diff", str(junk), str(junk)]) == 2
    assert "not an msnp-capture file" in capsys.readouterr().err
    assert main(["diff", str(tmp_path / "none"), str(tmp_path / "none")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_cli_reads_a_capture_from_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tmp_path / "changed.jsonl"
    changed.write_text(MD5_CHAT.read_text(encoding="utf-8").replace("Hello Bob", "Hello Rob"))
    stdin = io.TextIOWrapper(io.BytesIO(changed.read_bytes()))
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["diff", str(MD5_CHAT), "-"]) == 1
    out = capsys.readouterr().out
    assert "+++ - SB#3\n" in out
    assert "|   +Hello Rob" in out


# The alignment: always valid, near-minimal on long repetitive sequences with few edits.


def check(a: list[Any], b: list[Any]) -> int:
    """Assert that ``align.opcodes(a, b)`` is a valid alignment; return its changes."""
    i = j = changed = 0
    for tag, i1, i2, j1, j2 in align.opcodes(a, b):
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
        else:
            changed += max(i2 - i1, j2 - j1)
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    return changed


@pytest.mark.parametrize("small", [0, align.SMALL])
@settings(max_examples=200, deadline=None)
@given(
    a=st.lists(st.integers(0, 6), max_size=80),
    edits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 100), st.integers(0, 6))),
)
def test_alignment_is_valid(small: int, a: list[int], edits: list[tuple[int, int, int]]) -> None:
    b = list(a)
    for kind, where, value in edits:
        if kind == 0:
            b.insert(where % (len(b) + 1), value)
        elif b and kind == 1:
            del b[where % len(b)]
        elif b:
            b[where % len(b)] = value
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(align, "SMALL", small)  # 0: every window by anchors
        assert check(a, b) <= len(a) + len(b)


@pytest.mark.parametrize("alphabet", [["PNG", "QNG"], ["PNG", "QNG", "NLN a", "NLN b"]])
def test_alignment_of_repetitive_sequences_finds_the_few_edits(alphabet: list[str]) -> None:
    rng = random.Random(7)
    a = alphabet * 50_000 if len(alphabet) == 2 else [rng.choice(alphabet) for _ in range(100_000)]
    b = list(a)
    for n in range(20):
        b[rng.randrange(len(b))] = f"changed {n}"
        del b[rng.randrange(len(b))]
        b.insert(rng.randrange(len(b)), "BPR")
    # 60 edits touch at most 80 elements; an alignment that lost its way would touch
    # thousands (an anchor paired out of place shifts everything after it)
    assert check(a, b) <= 200


@pytest.mark.parametrize("sample", [MD5_CHAT, BURST])
def test_files_are_compared_as_captures_in_memory_are(sample: Path, tmp_path: Path) -> None:
    """``diff_files`` (keys in memory, shown records fetched again, runs included) gives
    what ``diff_captures`` gives on the loaded captures."""
    records = list(read_capture(sample))
    changed = [dict(r) for r in records]
    for record in changed:
        if record.get("cmd") == "MSG" and "payload" in record:
            record["payload"] = record["payload"].replace("e", "E")
    del changed[len(changed) // 2]
    b = write_lines(tmp_path / "b.jsonl", changed)
    in_memory = diff_captures(load_capture(sample), load_capture(b))
    assert in_memory != []
    assert diff_files(sample, b) == in_memory
    assert diff_json(diff_files(sample, b, split_directions=True)) == diff_json(
        diff_captures(load_capture(sample), load_capture(b), split_directions=True)
    )


@pytest.mark.parametrize(("between", "hunks"), [(6, 1), (7, 2), (40, 2)])
def test_hunks_keep_context_lines_around_each_change(between: int, hunks: int) -> None:
    """Two changes with ``between`` equal commands between them: one hunk while the
    context of both (3 + 3) covers the run, else two, each with 3 lines of context."""
    work: list[Line] = [("c2s", "CHG", 10 + n, ("NLN", "0")) for n in range(between + 8)]
    changed = list(work)
    changed[2] = ("c2s", "CHG", 12, ("AWY", "0"))
    changed[3 + between] = ("c2s", "CHG", 13 + between, ("BSY", "0"))
    (diff,) = diff_captures(
        capture(connection(1, "NS", [*ALICE, *work])),
        capture(connection(1, "NS", [*ALICE, *changed])),
    )
    assert len(diff.hunks) == hunks
    for hunk in diff.hunks:
        assert [line.tag for line in hunk.lines[:3]] == [" "] * 3
        assert [line.tag for line in hunk.lines[-3:]] == [" "] * 3
        assert hunk.a_count == sum(1 for line in hunk.lines if line.tag != "+")
    first = diff.hunks[0]
    assert (first.a_start, first.b_start) == (len(ALICE) + 2 - 3 + 1,) * 2


def test_records_of_some_connections_compare_without_their_header() -> None:
    """What a test holds: some records of a run (no header, maybe no ``open``)."""
    a = capture(connection(1, "NS", ALICE), connection(2, "NS", BOB))
    b = capture(connection(1, "NS", BOB), connection(2, "NS", ALICE))
    assert diff_captures(a[1:], b[1:]) == []  # paired by session, whatever the order
    only_alice = [r for r in a if r.get("conn") == 1 and r["type"] == "cmd"]
    alice_in_b = [r for r in b if r.get("conn") == 2 and r["type"] == "cmd"]
    assert diff_captures(only_alice, alice_in_b) == []  # no open records: no role either
    (diff,) = diff_captures(only_alice, [])
    assert (diff.label, diff.unpaired, diff.a_name) == ("alice@example.com ? 1", "a", "#1")


def test_diff_files_of_the_same_bytes_is_empty_at_once(tmp_path: Path) -> None:
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(MD5_CHAT.read_bytes())
    assert diff_files(MD5_CHAT, copy) == []
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"junk\n")
    with pytest.raises(CaptureFormatError):
        diff_files(junk, junk)


def test_progress_is_told_until_the_whole_of_a(capsys: pytest.CaptureFixture[str]) -> None:
    a = list(read_capture(MD5_CHAT))
    b = [r for r in a if r.get("cmd") != "ILN"]
    told: list[tuple[int, int]] = []
    assert diff_captures(a, b, progress=lambda done, total: told.append((done, total))) != []
    total = sum(1 for r in a if r["type"] in ("cmd", "raw"))
    assert told[-1] == (total, total)
    assert [done for done, _ in told] == sorted(done for done, _ in told)
    with _progress(True, "comparing", "commands") as tick:
        assert tick is not None
        tick(5, 10)
    assert "comparing" in capsys.readouterr().err
    with _progress(False, "comparing", "commands") as tick:
        assert tick is None


def test_diff_captures_takes_paths(tmp_path: Path) -> None:
    changed = tmp_path / "changed.jsonl"
    changed.write_text(MD5_CHAT.read_text(encoding="utf-8").replace("Hello Bob", "Hello Rob"))
    expected = diff_captures(load_capture(MD5_CHAT), load_capture(changed))
    assert expected != []
    assert diff_captures(MD5_CHAT, changed) == expected
    assert diff_captures(str(MD5_CHAT), list(read_capture(changed))) == expected
    assert diff_captures(MD5_CHAT, MD5_CHAT) == []
