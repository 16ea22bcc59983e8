"""The web view's model without a browser: sessions, ladder rows, folds, filters, exports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from msproxy.capture import read_capture
from msproxy.inspect import make_capture
from msproxy.web.detail import indent_xml, payload_view, record_detail
from msproxy.web.export import jsonl, mermaid, svg
from msproxy.web.filtering import compile_filter
from msproxy.web.model import LadderView, row_json, session_json
from msproxy.web.store import WebStore

SAMPLES = Path(__file__).parents[2] / "captures" / "samples"
CHAT = SAMPLES / "msnp2-md5-chat.jsonl"


@pytest.fixture
def store() -> WebStore:
    store = WebStore()
    store.follow(CHAT)
    store.poll()
    return store


def rows(
    store: WebStore, text: str = "", opened: frozenset[int] = frozenset()
) -> list[dict[str, object]]:
    found = store.find("0-1")
    assert found is not None
    capture, session = found
    view = store.view(capture, session, text, opened)
    return [row_json(capture, session, view, n) for n in range(len(view.rows))]


def test_one_session_holds_the_ds_the_ns_and_both_switchboards(store: WebStore) -> None:
    [(capture, session)] = store.sessions()
    assert [capture.name(conn) for conn in session.conns] == ["DS#1", "NS#2", "SB#3", "SB#4"]
    line = session_json(capture, session)
    assert (line["handle"], line["version"], line["connections"]) == (
        "alice@example.com",
        "MSNP2",
        4,
    )
    assert line["errors"] == 1  # the 217 reply to CAL carol
    assert line["commands"] == sum(1 for _ in capture.commands())


def test_arrows_go_between_the_client_and_the_connection_column(store: WebStore) -> None:
    ladder = rows(store)
    ver = next(row for row in ladder if row["verb"] == "VER")
    assert (ver["from"], ver["to"], ver["text"]) == (0, 1, "VER 1 MSNP2 CVR0")
    reply = ladder[int(str(ver["pair"]))]
    assert (reply["from"], reply["to"], reply["pair"]) == (1, 0, ver["n"])
    msg = next(row for row in ladder if row["verb"] == "MSG" and row["from"] == 0)
    assert msg["to"] == 3  # SB#3, the fourth connection
    assert msg["text"] == "MSG 4 N  \u00abHello Bob, caf\u00e9?\u00bb"


def test_a_redirect_row_says_the_original_and_the_rewritten_address(store: WebStore) -> None:
    xfr = [row for row in rows(store) if row["verb"] == "XFR" and row["dir"] == "s2c"]
    assert [row.get("rewrite") for row in xfr] == [
        "127.0.0.1:1864 -> 127.0.0.1:40001",
        "127.0.0.1:1865 -> 127.0.0.1:40002",
    ]


def test_numeric_replies_are_errors(store: WebStore) -> None:
    assert [row["verb"] for row in rows(store) if row["error"]] == ["217"]


def test_presence_runs_fold_into_one_row_and_open_on_request(store: WebStore) -> None:
    ladder = rows(store)
    folds = [row for row in ladder if row["kind"] == "fold"]
    assert [row["text"] for row in folds] == [
        "3 presence commands (CHG \u00d72, ILN \u00d71)",
        "2 presence commands (PNG \u00d71, QNG \u00d71)",
    ]
    assert folds[0]["dir"] == "both"
    first = int(str(folds[0]["first"]))
    opened = rows(store, opened=frozenset({first}))
    assert len(opened) == len(ladder) + 2
    n = int(str(folds[0]["n"]))
    assert [row["verb"] for row in opened[n : n + 3]] == ["CHG", "CHG", "ILN"]
    assert {row["run"] for row in opened[n : n + 3]} == {first}


def test_the_filter_keeps_matching_rows(store: WebStore) -> None:
    assert [row["verb"] for row in rows(store, "cmd:MSG dir:c2s")] == ["MSG", "MSG"]
    assert {row["verb"] for row in rows(store, "conn:SB#4 cmd:ANS,IRO")} == {"ANS", "IRO"}
    assert [row["verb"] for row in rows(store, "carol")] == ["CAL"]
    with pytest.raises(ValueError, match="direction"):
        compile_filter("dir:up")
    assert compile_filter("  ") is None


def test_the_filter_box_takes_the_filter_language(store: WebStore) -> None:
    """An expression of msproxy.view.filterlang, as show --filter takes it."""
    assert [row["verb"] for row in rows(store, "cmd MSG and dir c2s")] == ["MSG", "MSG"]
    assert [row["verb"] for row in rows(store, "cmd MSG and not dir s2c")] == ["MSG", "MSG"]
    assert [row["verb"] for row in rows(store, "error")] == ["217"]
    assert {row["verb"] for row in rows(store, "(role SB) and trid 1")} == {"USR", "ANS", "IRO"}
    with pytest.raises(ValueError, match=r"'dir' takes c2s or s2c, not 'up' \(column 5\)"):
        compile_filter("dir up")


def test_rows_built_as_records_arrive_equal_rows_built_at_once(tmp_path: Path) -> None:
    records = list(read_capture(CHAT))
    growing = WebStore()
    followed = growing.follow(tmp_path / "unused.jsonl")
    whole = make_capture(records)
    for record in records:
        growing.add_records(followed, [record])
        found = growing.find("0-1")
        if found is not None:
            growing.view(*found, "", frozenset())  # build the view while it grows
    found = growing.find("0-1")
    assert found is not None
    capture, session = found
    grown = growing.view(capture, session, "", frozenset())
    fresh = LadderView()
    fresh.extend(whole.records, session.items)
    assert [row_json(capture, session, grown, n) for n in range(len(grown.rows))] == [
        row_json(capture, session, fresh, n) for n in range(len(fresh.rows))
    ]


def test_exports(store: WebStore) -> None:
    found = store.find("0-1")
    assert found is not None
    capture, session = found
    view = store.view(capture, session, "", frozenset())
    text = mermaid(capture, session, view)
    assert text.startswith("sequenceDiagram\n    participant P0 as client 127.0.0.1:50001\n")
    assert "    participant P3 as SB 3 127.0.0.1:1865\n" in text
    assert "    P0->>P3: MSG 4 N  \u00abHello Bob, caf\u00e9?\u00bb\n" in text
    assert "    P3-xP0: 217 3\n" in text
    picture = ET.fromstring(svg(capture, session, view))
    texts = [node.text for node in picture.iter("{http://www.w3.org/2000/svg}text")]
    assert "SB#3" in texts
    assert "MSG 4 N  \u00abHello Bob, caf\u00e9?\u00bb" in texts
    lines = b"".join(jsonl(capture, session)).splitlines()
    assert json.loads(lines[0])["type"] == "header"
    assert [json.loads(line) for line in lines[1:]] == capture.records


def test_detail_shows_mime_headers_xml_indented_and_hex() -> None:
    view = payload_view(b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello")
    assert view["headers"] == [["MIME-Version", "1.0"], ["Content-Type", "text/plain"]]
    assert (view["kind"], view["body"]) == ("text", "hello")
    assert payload_view(b"<a><b>x</b></a>")["body"] == "<a>\n  <b>x</b>\n</a>"
    assert indent_xml("<a><b>") == "<a><b>"
    binary = payload_view(b"\x00\x01\xff")
    assert binary["kind"] == "hex"
    assert str(binary["body"]).startswith("00000000  00 01 ff")
    detail = record_detail(
        {"type": "cmd", "t": 1.0, "conn": 1, "dir": "c2s", "cmd": "OUT", "trid": None, "args": []},
        7,
    )
    assert (detail["index"], detail["line"], detail["bytes"]) == (7, "OUT\\r\\n", "OUT\\r\\n")


def test_a_rewrite_whose_redirect_is_filtered_out_is_a_row_of_its_own(store: WebStore) -> None:
    shown = rows(store, "dir:s2c grep:40002|SYN")  # the rewrites' text has the new address
    assert [(row["verb"], row["kind"]) for row in shown] == [
        ("SYN", "cmd"),
        ("XFR", "rewrite"),
        ("RNG", "rewrite"),
    ]
    assert "rewrite" not in shown[0]
    assert shown[1]["text"] == "rewrite XFR 127.0.0.1:1865 -> 127.0.0.1:40002"


def test_a_fault_is_a_red_note_on_its_connection(tmp_path: Path) -> None:
    records = list(read_capture(CHAT))
    ns = next(r for r in records if r.get("type") == "open" and r.get("role") == "NS")
    fault = {"type": "fault", "t": ns["t"], "conn": ns["conn"], "dir": "s2c", "action": "drop"}
    fault |= {"rule": 1, "cmd": "NLN", "offset": 0, "size": 40}
    at = records.index(ns) + 1
    store = WebStore()
    followed = store.follow(tmp_path / "unused.jsonl")
    store.add_records(followed, [*records[:at], fault, *records[at:]])
    (shown,) = [row for row in rows(store) if row["kind"] == "fault"]
    assert shown["text"] == "fault drop s2c NLN (rule 1)"
    assert shown["error"] is True


def test_handle_selects_the_whole_session_as_show_does(store: WebStore) -> None:
    found = store.find("0-1")
    assert found is not None
    handle = found[1].handle
    assert handle is not None
    every = [row["first"] for row in rows(store) if row["kind"] == "cmd"]
    selected = [row["first"] for row in rows(store, f"handle {handle}") if row["kind"] == "cmd"]
    assert selected == every  # the commands before the login (VER, INF, USR I) too
    assert rows(store, "handle nobody@example.com") == []
