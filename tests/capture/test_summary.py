"""``msproxy summary``: the numbers in each table, computed independently from the sample."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from tabulate import tabulate_formats

from msmgr.codec import Command
from msproxy.__main__ import main
from msproxy.capture import command_record, read_capture, rebuild
from msproxy.inspect import Capture, load_capture
from msproxy.inspect.summary import (
    connection_table,
    error_table,
    format_tables,
    latency_table,
    percentile,
    summarize,
    summarize_records,
    verb_table,
)

from .conftest import MD5_CHAT, TWN_LOGIN, header, write_lines


def rows_by(table_rows: list[list[object]], column: int = 0) -> dict[object, list[object]]:
    return {row[column]: row for row in table_rows}


def test_connection_table_counts(chat: Capture) -> None:
    table = connection_table(chat)
    rows = rows_by(table.rows)
    assert list(rows) == [1, 2, 3, 4]
    col = {name: i for i, name in enumerate(table.headers)}
    for conn, row in rows.items():
        mine = [r for r in chat.records if r["conn"] == conn]
        opened = next(r for r in mine if r["type"] == "open")
        closed = next(r for r in mine if r["type"] == "close")
        for direction in ("c2s", "s2c"):
            cmds = [r for r in mine if r["type"] == "cmd" and r["dir"] == direction]
            assert row[col[f"cmds {direction}"]] == len(cmds)
            assert row[col[f"bytes {direction}"]] == sum(len(rebuild(r)) for r in cmds)
        assert row[col["role"]] == opened["role"]
        assert row[col["client"]] == opened["client"]
        assert row[col["duration s"]] == f"{closed['t'] - opened['t']:.3f}"
        assert row[col["closed by"]] == f"{closed['by']}: {closed['reason']}"
    assert rows[3][col["parent"]] == "NS#2"
    assert rows[3][col["via"]] == "XFR"
    assert rows[4][col["via"]] == "RNG"


def test_verb_table(chat: Capture) -> None:
    rows = rows_by(verb_table(chat).rows)
    assert list(rows) == sorted(rows, key=str)
    msgs = [r for r in chat.records if r.get("cmd") == "MSG" and r["type"] == "cmd"]
    c2s = [r for r in msgs if r["dir"] == "c2s"]
    s2c = [r for r in msgs if r["dir"] == "s2c"]
    assert rows["MSG"] == [
        "MSG",
        len(c2s),
        len(s2c),
        sum(len(r["payload"].encode()) for r in c2s),
        sum(len(r["payload"].encode()) for r in s2c),
    ]
    assert rows["LST"][1:3] == [0, 4]


def expected_latencies(capture: Capture, verb: str) -> list[float]:
    """Request -> first reply with the same TrID on the same connection (by brute force)."""
    out = []
    records = [r for r in capture.records if r["type"] == "cmd"]
    for i, request in enumerate(records):
        if request["dir"] != "c2s" or request["cmd"] != verb or request["trid"] is None:
            continue
        reply = next(
            r
            for r in records[i + 1 :]
            if r["dir"] == "s2c" and r["conn"] == request["conn"] and r["trid"] == request["trid"]
        )
        out.append(reply["t"] - request["t"])
    return out


def nearest_rank_p95(values: list[float]) -> float:
    """The smallest value with at least 95% of the values at or below it (by counting)."""
    return next(
        v for v in sorted(values) if 20 * sum(1 for w in values if w <= v) >= 19 * len(values)
    )


@pytest.mark.parametrize("verb", ["USR", "CAL", "VER", "SYN"])
def test_latency_table(chat: Capture, verb: str) -> None:
    rows = rows_by(latency_table(chat).rows)
    values = expected_latencies(chat, verb)
    assert values
    assert rows[verb] == [
        verb,
        len(values),
        f"{statistics.median(values) * 1000:.1f}",
        f"{nearest_rank_p95(values) * 1000:.1f}",
        f"{max(values) * 1000:.1f}",
    ]
    assert "PNG" not in rows
    assert "OUT" not in rows


def test_qry_round_trip_in_msnp8(twn: Capture) -> None:
    rows = rows_by(latency_table(twn).rows)
    assert rows["QRY"][1] == 1
    assert float(str(rows["QRY"][2])) == pytest.approx(
        expected_latencies(twn, "QRY")[0] * 1000, abs=0.05
    )


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == 95.0
    for n in (1, 2, 19, 20, 21, 39, 40, 41, 100, 101):
        shuffled = [float((i * 37) % n) for i in range(n)]  # a permutation of 0..n-1
        assert percentile(shuffled, 0.95) == nearest_rank_p95(shuffled), n
    assert percentile([3.0, 1.0, 2.0], 0.95) == 3.0
    assert percentile([5.0], 0.5) == 5.0


def test_error_table(chat: Capture, twn: Capture) -> None:
    table = error_table(chat)
    assert table.headers == ["time s", "conn", "dir", "error", "trid", "detail"]
    assert table.rows == [["0.348", "SB#3", "s2c", "217", 3, "reply to CAL"]]
    assert error_table(twn).rows == []


def test_error_table_keeps_code_trid_and_arguments_apart(tmp_path: Path) -> None:
    records = [
        header(),
        {
            "type": "open",
            "t": 1000.0,
            "conn": 1,
            "role": "NS",
            "client": "c:1",
            "upstream": "s:2",
            "parent": None,
            "via": None,
        },
        command_record(1, "c2s", Command("USR", 7, ("TWN", "I", "a@x")), 1000.1),
        command_record(1, "s2c", Command("911", 7), 1000.2),
        command_record(1, "s2c", Command("500", 9, ("busy",)), 1000.3),
        {"type": "error", "t": 1000.5, "conn": 1, "kind": "limit", "message": "too long"},
    ]
    capture = load_capture(write_lines(tmp_path / "e.jsonl", records))
    assert error_table(capture).rows == [
        ["0.200", "NS#1", "s2c", "911", 7, "reply to USR"],
        ["0.300", "NS#1", "s2c", "500", 9, "no matching request (args: busy)"],
        ["0.500", "NS#1", "-", "limit", "-", "too long"],
    ]
    text = format_tables([error_table(capture)], "plain")
    assert ["0.200", "NS#1", "s2c", "911", "7", "reply", "to", "USR"] in [
        line.split() for line in text.splitlines()
    ]


def test_an_unknown_table_format_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", str(MD5_CHAT), "--format", "bogus"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "msproxy summary: error: --format: unknown table format 'bogus'" in captured.err
    assert all(name in captured.err for name in tabulate_formats)
    with pytest.raises(ValueError, match="unknown table format"):
        format_tables([], "bogus")
    assert main(["summary", str(MD5_CHAT), "--format", "rst"]) == 0


def test_cli_summary_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", str(MD5_CHAT)]) == 0
    first = capsys.readouterr().out
    assert main(["summary", str(MD5_CHAT)]) == 0
    assert capsys.readouterr().out == first
    for title in ("Connections", "Commands", "TrID round trips (ms)", "Errors"):
        assert f"\n{title}\n" in "\n" + first
    assert main(["summary", str(TWN_LOGIN), "--format", "github"]) == 0
    out = capsys.readouterr().out
    assert "Errors\n(none)" in out
    assert "| QRY " in out


def test_streamed_summary_equals_the_in_memory_one(chat: Capture, twn: Capture) -> None:
    for path, capture in ((MD5_CHAT, chat), (TWN_LOGIN, twn)):
        streamed = summarize_records(read_capture(path)).tables()
        assert format_tables(streamed) == format_tables(summarize(capture))


def test_summary_filter_counts_only_what_it_selects(
    capsys: pytest.CaptureFixture[str], chat: Capture
) -> None:
    assert main(["summary", str(MD5_CHAT), "--filter", "role SB and cmd MSG", "--json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    assert set(tables) == {"connections", "commands", "round_trips", "errors"}
    assert [row["verb"] for row in tables["commands"]] == ["MSG"]
    msgs = [r for r in chat.records if r["type"] == "cmd" and r["cmd"] == "MSG" and r["conn"] > 2]
    row = tables["commands"][0]
    assert row["c2s"] + row["s2c"] == len(msgs)
    assert [c["name"] for c in tables["connections"]] == ["SB#3", "SB#4"]
    sb3 = tables["connections"][0]
    assert sb3["cmds c2s"] == len([r for r in msgs if r["conn"] == 3 and r["dir"] == "c2s"])
    assert sb3["parent"] == "NS#2"  # the names come from the records the filter left out
    assert tables["errors"] == []


def test_summary_json_matches_the_tables(capsys: pytest.CaptureFixture[str], chat: Capture) -> None:
    assert main(["summary", str(MD5_CHAT), "--json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    assert tables["errors"] == [
        {
            "time s": 0.348,
            "conn": "SB#3",
            "dir": "s2c",
            "error": 217,
            "trid": 3,
            "detail": "reply to CAL",
        }
    ]
    assert len(tables["connections"]) == len(chat.connections)
    assert tables["connections"][0]["parent"] is None


def test_summary_bad_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", str(MD5_CHAT), "--filter", "len >"]) == 2
    assert "msproxy summary: error: --filter: 'len' needs a number" in capsys.readouterr().err


def test_unanswered_requests_are_forgotten_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests that never get a reply (MSG N) do not pile up: past the bound the
    oldest is forgotten, and a reply to it no longer counts as a round trip."""
    monkeypatch.setattr("msproxy.inspect.summary.MAX_OPEN_REQUESTS", 3)
    records = [
        header(),
        *(
            command_record(1, "c2s", Command("MSG", n, ("N", "0"), b""), 1000.0 + n)
            for n in range(1, 6)
        ),
    ]
    records += [command_record(1, "s2c", Command("ACK", n), 1010.0) for n in (1, 2, 5)]
    summary = summarize_records(records)
    assert len(summary.pending) == 2  # 3 and 4, still waiting
    assert summary.latency_table().rows == [["MSG", 1, "5000.0", "5000.0", "5000.0"]]
