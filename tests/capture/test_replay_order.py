"""A reply recorded before the request it answers is replayed after it (replay_script)."""

from __future__ import annotations

from msproxy.capture import Record, header_record
from msproxy.inspect.replay_script import replies_after_requests, script


def cmd(direction: str, verb: str, trid: int | None, *args: str) -> Record:
    return {
        "type": "cmd",
        "t": 1.0,
        "conn": 1,
        "dir": direction,
        "cmd": verb,
        "trid": trid,
        "args": list(args),
    }


def lines(records: list[Record]) -> list[str]:
    return [f"{r['dir']} {r['cmd']} {r['trid']}" for r in records]


def test_a_reply_recorded_before_its_request_moves_after_it() -> None:
    records = [
        cmd("c2s", "INF", 2),
        cmd("s2c", "INF", 2, "MD5"),
        cmd("s2c", "XFR", 3, "NS", "127.0.0.1:1863", "0"),  # the server was faster
        cmd("c2s", "USR", 3, "MD5", "I", "alice@example.com"),
        cmd("s2c", "CHL", 0, "123"),  # not a reply: stays where it is
        cmd("c2s", "OUT", None),
    ]
    assert lines(replies_after_requests(records)) == [
        "c2s INF 2",
        "s2c INF 2",
        "c2s USR 3",
        "s2c XFR 3",
        "s2c CHL 0",
        "c2s OUT None",
    ]
    steps = script([header_record(0.0, "test"), *records], 1)
    assert [(lines([s.request])[0] if s.request else None, lines(s.replies)) for s in steps] == [
        ("c2s INF 2", ["s2c INF 2"]),
        ("c2s USR 3", ["s2c XFR 3", "s2c CHL 0"]),
        ("c2s OUT None", []),
    ]


def test_replies_in_order_and_a_reused_trid_are_left_alone() -> None:
    records = [
        cmd("c2s", "CHG", 8, "NLN"),
        cmd("s2c", "CHG", 8, "NLN"),
        cmd("s2c", "ILN", 8, "NLN", "bob@example.com", "Bob"),
        cmd("s2c", "CHG", 8, "BSY"),  # its request came already: not held for a later one
        cmd("c2s", "CHG", 8, "BSY"),
    ]
    assert replies_after_requests(records) == records
