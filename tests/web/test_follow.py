"""Following a capture file as it grows: whole lines only, runs expanded, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from msproxy.capture import CaptureFormatError, encode_record, header_record, open_record
from msproxy.capture.records import run_record
from msproxy.web.follow import CaptureFollower
from msproxy.web.store import Subscriber, WebStore

HEADER = encode_record(header_record(1000.0, "test", version=2))
OPEN = encode_record(
    open_record(
        1, 1000.0, role="NS", client="127.0.0.1:5", upstream="127.0.0.1:6", parent=None, via=None
    )
)
LOGIN = (
    b'{"type":"cmd","t":1000.1,"conn":1,"dir":"c2s","cmd":"USR","trid":7,'
    b'"args":["MD5","S","0123456789abcdef"]}\n'
)


def test_a_partial_last_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_bytes(HEADER + OPEN[:20])
    follower = CaptureFollower(path)
    assert [r["type"] for r in follower.read()] == ["header"]
    assert follower.read() == []
    with path.open("ab") as file:
        file.write(OPEN[20:])
    assert [r["type"] for r in follower.read()] == ["open"]


def test_runs_are_given_as_their_commands(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run = run_record(1, "s2c", b"NLN NLN a@b.c A 0\r\nPNG\r\n", 2, 1000.2)
    path.write_bytes(HEADER + OPEN + encode_record(run))
    records = CaptureFollower(path).read()
    assert [(r["type"], r.get("cmd")) for r in records[2:]] == [("cmd", "NLN"), ("cmd", "PNG")]


def test_secrets_left_in_a_capture_are_redacted_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "secret.jsonl"
    path.write_bytes(HEADER + OPEN + LOGIN)
    redacted = CaptureFollower(path).read()[-1]
    assert redacted["args"][:2] == ["MD5", "S"]
    assert redacted["args"][2].startswith("<redacted:")
    assert redacted["redacted"] is True
    kept = CaptureFollower(path, redact=False).read()[-1]
    assert kept["args"][2] == "0123456789abcdef"


def test_a_line_that_is_not_a_record_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(HEADER + b"not json\n")
    with pytest.raises(CaptureFormatError, match="line 2 is not JSON"):
        CaptureFollower(path).read()


async def test_the_store_stops_following_a_broken_file_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(HEADER + b"[1]\n")
    store = WebStore()
    followed = store.follow(path)
    subscriber = store.subscribe()
    assert store.poll() == set()
    assert await subscriber.get() == [{"type": "update", "sessions": []}]
    assert followed.problem is not None
    assert "not a JSON object" in followed.problem


async def test_a_browser_that_falls_behind_gets_one_reset() -> None:
    subscriber = Subscriber(limit=3)
    for number in range(3):
        subscriber.push({"type": "update", "n": number})
    assert [m["n"] for m in await subscriber.get()] == [0, 1, 2]
    for number in range(10):
        subscriber.push({"type": "update", "n": number})
    assert await subscriber.get() == [{"type": "reset"}]
    assert subscriber.resets == 1
    subscriber.push({"type": "update", "n": 99})
    assert await subscriber.get() == [{"type": "update", "n": 99}]


async def test_the_store_tells_every_browser_which_sessions_changed(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_bytes(HEADER)
    store = WebStore()
    store.follow(path)
    subscriber = store.subscribe()
    store.poll()
    with path.open("ab") as file:
        file.write(OPEN)
    assert store.poll() == {"0-1"}
    assert await subscriber.get() == [{"type": "update", "sessions": ["0-1"]}]
    store.unsubscribe(subscriber)
    assert not store.subscribers
