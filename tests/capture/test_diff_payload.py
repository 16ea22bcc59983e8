"""``msproxy diff``: line diffs of changed payloads, volatile headers, binary data, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msmgr.codec import Command
from msproxy.__main__ import main
from msproxy.capture import Record, command_record, read_capture
from msproxy.inspect.diff import PAYLOAD_PREFIX, DiffLine, diff_captures, diff_json, format_diff
from msproxy.inspect.normalize import DEFAULT_IGNORE, normalize, normalize_payload
from msproxy.inspect.payload_diff import payload_diff

from .conftest import MD5_CHAT, header
from .test_diff import another_run, write


def changed_lines(records_b: list[Record], **options: object) -> list[DiffLine]:
    diffs = diff_captures(list(read_capture(MD5_CHAT)), records_b, **options)  # type: ignore[arg-type]
    return [line for d in diffs for h in d.hunks for line in h.lines if line.tag != " "]


def test_a_changed_message_gets_a_line_diff_of_its_payload() -> None:
    b = another_run(list(read_capture(MD5_CHAT)), ("Hello Bob", "Hello Rob"))
    removed, added = changed_lines(b)
    assert removed.payload_diff == ()
    assert added.payload_diff == (
        "@@ -2,4 +2,4 @@",
        " Content-Type: text/plain; charset=UTF-8",
        " X-MMS-IM-Format: FN=Arial; EF=; CO=0",
        " ",
        "-Hello Bob, café?",
        "+Hello Rob, café?",
    )
    text = format_diff(diff_captures(read_capture(MD5_CHAT), b))
    assert f"{PAYLOAD_PREFIX}-Hello Bob, café?\n{PAYLOAD_PREFIX}+Hello Rob, café?\n" in text


def test_volatile_headers_are_not_shown_as_differences() -> None:
    edits = [("EmailEnabled: 0", "EmailEnabled: 1"), ("kv: 5", "kv: 7"), ("sid: 507", "sid: 9")]
    b = another_run(list(read_capture(MD5_CHAT)), *edits)  # LoginTime, ClientPort too
    (_, added) = changed_lines(b)
    assert added.text.startswith("<- MSG Hotmail Hotmail ")
    changes = [line for line in added.payload_diff if line[:1] in "+-"]
    assert changes == ["-EmailEnabled: 0", "+EmailEnabled: 1"]
    # without the rule that hides them, the same lines are differences
    strict = changed_lines(b, ignore=DEFAULT_IGNORE - {"time"})
    profile = next(x for x in strict if x.tag == "+" and x.text.startswith("<- MSG Hotmail"))
    shown = [line for line in profile.payload_diff if line[:1] in "+-"]
    assert "-LoginTime: 1700000000" in shown
    assert "+LoginTime: 1700009999" in shown
    assert "+kv: 7" in shown


def test_kv_and_message_id_are_volatile() -> None:
    a = b"MIME-Version: 1.0\r\nMessage-ID: {A-1}\r\nkv: 5\r\n\r\nhi"
    b = b"MIME-Version: 1.0\r\nMessage-ID: {B-2}\r\nkv: 6\r\n\r\nhi"
    assert normalize_payload(a) == normalize_payload(b)
    assert (
        normalize_payload(a) == b"MIME-Version: 1.0\r\nMessage-ID: <cookie>\r\nkv: <time>\r\n\r\nhi"
    )
    assert payload_diff(a, b) == []
    assert payload_diff(a, b, ignore=()) == [
        "@@ -1,5 +1,5 @@",
        " MIME-Version: 1.0",
        "-Message-ID: {A-1}",
        "-kv: 5",
        "+Message-ID: {B-2}",
        "+kv: 6",
        " ",
        " hi",
    ]
    msg_a, msg_b = Command("MSG", 1, ("N",), a), Command("MSG", 1, ("N",), b)
    assert normalize(msg_a, "c2s") == normalize(msg_b, "c2s")


def test_line_ends_are_differences_and_are_shown() -> None:
    assert payload_diff(b"A: 1\r\nbody", b"A: 1\nbody") == [
        "@@ -1,2 +1,2 @@",
        "-A: 1",
        "+A: 1\\n",
        " body",
    ]


def p2p(body: bytes, dest: str = "bob@example.com") -> bytes:
    head = (
        f"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: {dest}\r\n\r\n"
    )
    return head.encode() + body


def capture_with(payload: bytes) -> list[Record]:
    records: list[Record] = [header()]
    records.append({"type": "open", "t": 1000.0, "conn": 1, "role": "SB", "client": "c:1",
                    "upstream": "s:2", "parent": None, "via": None})  # fmt: skip
    records.append(command_record(1, "c2s", Command("USR", 1, ("a@x", "1.2")), 1000.1))
    records.append(command_record(1, "c2s", Command("MSG", 2, ("D",), payload), 1000.2))
    records.append(command_record(1, "s2c", Command("ACK", 2), 1000.3))
    return records


def test_binary_payloads_keep_their_digest() -> None:
    a = capture_with(b"\x00\x01\xff" * 10)
    b = capture_with(b"\x00\x02\xff" * 10)
    assert "payload_b64" in a[-2]
    (diff,) = diff_captures(a, b)
    removed, added = [line for line in diff.hunks[0].lines if line.tag != " "]
    assert removed.text.startswith("-> MSG 2 D 30  [binary 30B ")
    assert removed.text != added.text
    assert added.payload_diff == ()


def test_p2p_data_is_diffed_by_its_headers_and_a_digest_of_the_binary_part() -> None:
    body_a, body_b = b"\x00" * 48 + b"data", b"\x00" * 48 + b"DATA"
    same_head = payload_diff(p2p(body_a), p2p(body_b))
    assert same_head is not None
    digest_lines = [line for line in same_head if "[binary 52 bytes sha256:" in line]
    assert [line[0] for line in digest_lines] == ["-", "+"]
    assert digest_lines[0] != digest_lines[1]
    other_dest = payload_diff(p2p(body_a), p2p(body_a, "carol@example.com"))
    assert other_dest is not None
    assert [line for line in other_dest if line[:1] in "+-"] == [
        "-P2P-Dest: bob@example.com",
        "+P2P-Dest: carol@example.com",
    ]
    a, b = capture_with(p2p(body_a)), capture_with(p2p(body_b))
    (diff,) = diff_captures(a, b)
    added = next(line for line in diff.hunks[0].lines if line.tag == "+")
    assert any("[binary 52 bytes" in line for line in added.payload_diff)
    assert payload_diff(b"\x00\xff", b"\x00\xfe") is None


def test_only_commands_with_the_same_line_are_paired() -> None:
    """A changed message next to an added command: the message gets a payload diff, the
    added command is a plain addition."""
    a = list(read_capture(MD5_CHAT))
    b = another_run(a, ("Hello Bob", "Hello Rob"))
    index = next(i for i, r in enumerate(b) if r.get("cmd") == "MSG" and r.get("dir") == "c2s")
    extra = command_record(3, "c2s", Command("CAL", 150, ("dave@example.com",)), 1.0)
    b.insert(index, extra)
    changed = changed_lines(b)
    assert [(line.tag, line.text.split("  [")[0]) for line in changed] == [
        ("+", "-> CAL 150 dave@example.com"),
        ("-", "-> MSG 4 N 117"),
        ("+", "-> MSG 104 N 117"),
    ]
    assert changed[2].payload_diff[-1] == "+Hello Rob, café?"
    cal = next(line for line in changed if "dave" in line.text)
    assert cal.tag == "+"
    assert cal.payload_diff == ()


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = list(read_capture(MD5_CHAT))
    same = write(tmp_path / "same.jsonl", another_run(a))
    changed = write(tmp_path / "changed.jsonl", another_run(a, ("Hello Bob", "Hello Rob")))
    assert main(["diff", "--json", str(MD5_CHAT), str(same)]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["diff", "--json", str(MD5_CHAT), str(changed)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data == diff_json(diff_captures(a, list(read_capture(changed))))
    (connection,) = data
    assert {
        k: connection[k]
        for k in ("label", "role", "a_conn", "b_conn", "a_name", "b_name", "removed", "added")
    } == {
        "label": "alice@example.com SB 1",
        "role": "SB",
        "a_conn": 3,
        "b_conn": 3,
        "a_name": "SB#3",
        "b_name": "SB#3",
        "removed": 1,
        "added": 1,
    }
    (hunk,) = connection["hunks"]
    plus = [line for line in hunk["lines"] if line["tag"] == "+"]
    assert plus[0]["payload_diff"][-2:] == ["-Hello Bob, café?", "+Hello Rob, café?"]
    assert all("payload_diff" not in line for line in hunk["lines"] if line["tag"] != "+")
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", "--json", "-q", str(MD5_CHAT), str(changed)])
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
