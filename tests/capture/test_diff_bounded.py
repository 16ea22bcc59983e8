"""``diff`` of capture files one pair of connections at a time: the index, the entries of
one connection read back as they were in memory, a file that changed, a pipe, and the
line decoder under the reader."""

from __future__ import annotations

import gc
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msproxy.capture import CaptureFormatError, Record, read_capture
from msproxy.capture.reader import decode_line
from msproxy.inspect import load_capture
from msproxy.inspect.diff import diff_captures, diff_files, diff_sides, format_diff
from msproxy.inspect.normalize import DEFAULT_IGNORE
from msproxy.inspect.sides import Entry, FileSide, MemorySide, load_side, side_of

from .conftest import MD5_CHAT, header, write_lines
from .make_samples import SAMPLES

BURST = SAMPLES / "msnp12-sb-burst.jsonl"  # format version 2: run records
RULES = frozenset(DEFAULT_IGNORE)
SKIP = frozenset({"QRY"})


def shape(parts: dict[str | None, list[Entry]]) -> dict[str | None, list[tuple[str, bool, int]]]:
    return {d: [(e.key, e.movable, e.cut) for e in listed] for d, listed in parts.items()}


@pytest.mark.parametrize("sample", [MD5_CHAT, BURST])
@pytest.mark.parametrize("split", [False, True])
def test_a_connection_read_back_is_what_it_is_in_memory(sample: Path, split: bool) -> None:
    """Each connection's entries, built from its lines read back (runs included), are
    those built from the capture in memory; so are the counts and handles of the index."""
    on_file = load_side(sample, RULES, SKIP, split)
    in_memory = side_of(load_capture(sample), RULES, SKIP, split)
    assert isinstance(on_file, FileSide)
    assert on_file.counts == in_memory.counts
    assert on_file.counts
    assert on_file.handles == in_memory.handles
    assert list(on_file.capture.connections) == list(in_memory.capture.connections)
    for conn in in_memory.capture.connections:
        parts, expected = on_file.load(conn), in_memory.load(conn)
        assert shape(parts) == shape(expected)
        for direction, entries in parts.items():
            assert all(e.record is None for e in entries)  # keys only until shown
            on_file.fill(conn, entries, range(len(entries)))
            assert [e.record for e in entries] == [e.record for e in expected[direction]]


def test_only_one_pair_of_connections_is_in_memory_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty switchboards of 20 messages: while any connection is loaded, the entries
    alive are at most those of one pair, not the 1,200 of the two captures."""
    records: list[Record] = [header()]
    for conn in range(1, 31):
        records.append({"type": "open", "t": 1.0, "conn": conn, "role": "SB"})
        records.append(_cmd(conn, "c2s", "USR", 1, ["alice@example.com", "1.2"]))
        records.extend(_cmd(conn, "c2s", "MSG", 2 + n, ["N"], f"hi {n}") for n in range(20))
    changed = [dict(r) for r in records]
    changed[-1]["payload"] = "changed"
    a, b = write_lines(tmp_path / "a.jsonl", records), write_lines(tmp_path / "b.jsonl", changed)
    alive: list[int] = []
    load = FileSide.load

    def counted(self: FileSide, conn: int) -> dict[str | None, list[Entry]]:
        parts = load(self, conn)
        alive.append(sum(1 for o in gc.get_objects() if type(o) is Entry))
        return parts

    monkeypatch.setattr(FileSide, "load", counted)
    (diff,) = diff_files(a, b)
    assert len(alive) == 60  # every connection of both sides, once
    assert max(alive) <= 2 * 21  # one pair: 21 commands a side
    assert format_diff([diff]) == format_diff(diff_captures(records, changed))


def _cmd(
    conn: int, direction: str, verb: str, trid: int, args: list[str], text: str = ""
) -> Record:
    record: dict[str, Any] = {"type": "cmd", "t": 1.0, "conn": conn, "dir": direction}
    record.update(cmd=verb, trid=trid, args=args)
    if text:
        record["payload"] = text
    return record


def test_a_file_cut_short_after_indexing_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(MD5_CHAT.read_bytes())
    side = load_side(path, RULES, frozenset(), False)
    conn = list(side.capture.connections)[-1]
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    with pytest.raises(CaptureFormatError, match="changed while it was read"):
        side.load(conn)


def test_a_pipe_is_read_once_and_held_in_memory(tmp_path: Path) -> None:
    """A capture from a pipe (``<(zcat a.jsonl.gz)``) cannot be read twice: it is held
    in memory, and the shown commands are there."""
    changed = tmp_path / "b.jsonl"
    changed.write_text(MD5_CHAT.read_text(encoding="utf-8").replace("Hello Bob", "Hello Rob"))
    fifo = tmp_path / "a.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as file:
            file.write(MD5_CHAT.read_bytes())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        side = load_side(fifo, RULES, frozenset(), False)
    finally:
        writer.join(timeout=5)
    assert isinstance(side, MemorySide)
    expected = diff_captures(load_capture(MD5_CHAT), load_capture(changed))
    assert expected != []
    b = load_side(changed, RULES, frozenset(), False)
    assert diff_sides(side, b, RULES) == expected


def _outcome(line: bytes, decode: Any) -> tuple[str, str]:
    try:
        return "value", repr(decode(line))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    value=st.dictionaries(st.text(), JSON, max_size=4),
    before=st.sampled_from(["", " ", "\ufeff", "\t"]),
    after=st.sampled_from(["\n", "", "\r\n", " \n", "x\n", "}\n", "\x0b\n", "\u2028\n"]),
    encoding=st.sampled_from(["utf-8", "utf-16-le", "utf-32-be"]),
    ascii_only=st.booleans(),
)
def test_decode_line_is_json_loads(
    value: dict[str, Any], before: str, after: str, encoding: str, ascii_only: bool
) -> None:
    """On any line, ``decode_line`` gives the value, or the exception, ``json.loads`` gives."""
    text = before + json.dumps(value, ensure_ascii=ascii_only) + after
    try:
        line = text.encode(encoding, "surrogatepass")
    except UnicodeEncodeError:
        line = text.encode("utf-8", "surrogateescape")
    assert _outcome(line, decode_line) == _outcome(line, json.loads)


@given(st.binary(max_size=40))
def test_decode_line_is_json_loads_on_any_bytes(data: bytes) -> None:
    for line in (data, b"{" + data, b'{"a": 1}' + data):
        assert _outcome(line, decode_line) == _outcome(line, json.loads)


def test_the_reader_reads_what_json_loads_reads() -> None:
    for path in (MD5_CHAT, BURST):
        with path.open("rb") as file:
            lines = file.readlines()
        records = list(read_capture(path, expand_runs=False))
        assert records == [json.loads(line) for line in lines]
