"""Malformed captures: whatever a record holds, reading it raises ``CaptureFormatError``
or nothing, never ``TypeError``/``KeyError``/... (the tools turn ``CaptureFormatError``
into a clear message and exit status 2; anything else would be a traceback)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msproxy.capture import CaptureFormatError, Record, read_capture
from msproxy.capture.format import rebuild
from msproxy.inspect import Capture, load_capture
from msproxy.inspect.diff import diff_captures, diff_json, format_diff
from msproxy.inspect.filters import RecordFilter
from msproxy.inspect.show import ShowOptions, show_lines
from msproxy.inspect.summary import format_tables, summarize

from .conftest import MD5_CHAT as SAMPLE
from .conftest import header

# One well-formed record of every type, each field present (optional ones too).
VALID: list[Record] = [
    {"type": "open", "t": 1000.0, "conn": 1, "role": "NS", "client": "127.0.0.1:5",
     "upstream": "127.0.0.1:1863", "parent": None, "via": None, "ready": 1000.1},
    {"type": "cmd", "t": 1000.2, "conn": 1, "dir": "c2s", "cmd": "VER", "trid": 1,
     "args": ["MSNP8", "CVR0"], "line": "VER 1 MSNP8 CVR0\n"},
    {"type": "cmd", "t": 1000.3, "conn": 1, "dir": "s2c", "cmd": "MSG", "trid": None,
     "args": ["Hotmail", "Hotmail"], "payload": "A: b\r\n\r\n", "redacted": True},
    {"type": "cmd", "t": 1000.4, "conn": 1, "dir": "c2s", "cmd": "MSG", "trid": 2,
     "args": ["D"], "payload_b64": "AAH+/w==", "line_b64": "TVNHIDIgRCA0DQo="},
    {"type": "raw", "t": 1000.5, "conn": 1, "dir": "s2c", "data": "HTTP/1.1 400\r\n",
     "reason": "not an MSNP command line", "forwarded": False},
    {"type": "raw", "t": 1000.6, "conn": 1, "dir": "c2s", "data_b64": "AP8=", "reason": "x"},
    {"type": "rewrite", "t": 1000.7, "conn": 1, "dir": "s2c", "cmd": "XFR", "kind": "SB",
     "original": "127.0.0.1:1865", "new": "127.0.0.1:4000", "cookie": "1.2", "sessid": "3"},
    {"type": "error", "t": 1000.8, "conn": 1, "dir": "s2c", "kind": "unparsed",
     "message": "not an MSNP command line", "reason": "old"},
    {"type": "close", "t": 1000.9, "conn": 1, "by": "server", "reason": "end of stream",
     "finished": 1001.0},
]  # fmt: skip

# JSON values of every type, the odd ones included.
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(10**400),  # beyond a float
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["header", "cmd", "open", "c2s", "SB", "=", "!!", "\udcff"]),
    st.lists(st.integers(), max_size=3),
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

DELETE = object()


@st.composite
def malformed_records(draw: st.DrawFn) -> list[Record]:
    """The valid records with a few fields replaced by values of any type, or removed."""
    records = [header(), *(dict(r) for r in VALID)]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        record = draw(st.sampled_from(records))
        key = draw(st.sampled_from(sorted(record)))
        value = draw(st.one_of(JSON_VALUES, st.just(DELETE)))
        if value is DELETE:
            del record[key]
        else:
            record[key] = value
    return records


def dump(records: list[Record]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8", "surrogatepass")


# The record types of each capture format version (docs/capture-format.md).
TYPES = {
    1: {"header", "open", "close", "cmd", "raw", "rewrite", "error", "fault"},
    2: {"header", "open", "close", "cmd", "raw", "rewrite", "error", "fault", "run"},
}


def out_of_float_range(value: object) -> bool:
    return type(value) is int and abs(value) >= 2**1024


def expected_error(records: list[Record]) -> str | None:
    """The ``CaptureFormatError`` (a regular expression) that loading ``records`` must
    raise, stated from the format document rather than the reader: None when they load."""
    head = records[0]
    version = head.get("version")
    if head.get("type") != "header" or head.get("format") != "msnp-capture":
        return "not an msnp-capture file: the first record is not an msnp-capture header"
    if type(version) is not int or version not in TYPES:
        return re.escape(f"capture format version {version!r} is not supported")
    if out_of_float_range(head.get("started")):
        return "the header has a 'started' out of range"
    for number, record in enumerate(records[1:], start=2):
        kind = record.get("type")
        if not isinstance(kind, str) or kind not in TYPES[version]:
            return re.escape(f"line {number} has unknown type {kind!r}")
        if kind == "run":  # a run record made from another one: not the commands it says
            return f"line {number}: run record"
        conn = record.get("conn")
        if type(conn) is not int:
            return re.escape(f"record {number} ({kind!r}) has no integer 'conn'")
        if out_of_float_range(record.get("t")):
            return re.escape(f"record {number} ({kind!r}) has a 't' out of range")
    return None


def same(a: list[Record], b: list[Record]) -> bool:
    """Equal records (as JSON: NaN is equal to NaN here)."""
    return [json.dumps(r, sort_keys=True) for r in a] == [json.dumps(r, sort_keys=True) for r in b]


def check_loading(path: Path, records: list[Record]) -> Capture | None:
    """Load ``path``: exactly the error ``expected_error`` says, or exactly ``records``
    (the connections those records name, in the order they first appear)."""
    expected = expected_error(records)
    if expected is not None:
        with pytest.raises(CaptureFormatError, match=expected):
            load_capture(path)
        return None
    assert same(list(read_capture(path)), records)
    capture = load_capture(path)
    assert same([capture.header, *capture.records], records)
    assert list(capture.connections) == list(dict.fromkeys(r["conn"] for r in records[1:]))
    return capture


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=malformed_records())
def test_malformed_records_load_as_the_format_says(
    tmp_path_factory: pytest.TempPathFactory, records: list[Record]
) -> None:
    """Exactly the error the format document implies, or exactly the records written;
    never another exception."""
    path = tmp_path_factory.mktemp("malformed") / "m.jsonl"
    path.write_bytes(dump(records))
    check_loading(path, records)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"type": []}, "line 2 has unknown type []"),
        ({"type": {"a": 1}}, "line 2 has unknown type {'a': 1}"),
        ({"type": 7}, "line 2 has unknown type 7"),
        ({"type": None}, "line 2 has unknown type None"),
        ({"type": "cmd", "conn": [1]}, "has no integer 'conn'"),
        ({"type": "close", "conn": 1, "t": 10**400}, "'t'"),
    ],
)
def test_wrong_types_table(tmp_path: Path, record: dict[str, Any], message: str) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(dump([header(), record]))
    with pytest.raises(CaptureFormatError, match=re.escape(message)):
        load_capture(path)  # reads with read_capture, then builds the model


def test_a_parent_beyond_a_float_is_kept(tmp_path: Path) -> None:
    """Only times must fit a float: any other integer is read as it is."""
    record = {"type": "open", "conn": 1, "t": 1.0, "parent": 10**400}
    path = tmp_path / "m.jsonl"
    path.write_bytes(dump([header(), record]))
    capture = load_capture(path)
    assert capture.records == [record]
    assert capture.connections[1].parent == 10**400
    assert capture.connections[1].opened == 1.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "line 2 is not JSON"),
        (b'{"type":"cmd","conn":1,"t":' + b"1" * 5000 + b"}", "line 2 is not JSON"),
        (b"\xff\xfe{}", "line 2 is not JSON"),
        (b"[1]", "line 2 is not a JSON object"),
    ],
)
def test_odd_lines(tmp_path: Path, line: bytes, message: str) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(dump([header()]) + line + b"\n")
    with pytest.raises(CaptureFormatError, match=message):
        list(read_capture(path))


@pytest.mark.parametrize(
    ("line", "record", "tools_error"),
    [
        # inf: read, times unknown; a cmd record without a command: the tools say so
        (b'{"type":"cmd","conn":1,"t":1e999999}', {"type": "cmd", "conn": 1, "t": math.inf},
         "cmd record lacks 'cmd'"),
        (b'{"type":"cmd","conn":1,"t":NaN}', {"type": "cmd", "conn": 1, "t": math.nan},
         "cmd record lacks 'cmd'"),
        (b'{"type":"raw","conn":1,"data":"\\udcff"}',  # the byte 0xff
         {"type": "raw", "conn": 1, "data": "\udcff"}, None),
        (b'{"type":"raw","conn":1,"data":"\\ud800"}',  # no byte at all
         {"type": "raw", "conn": 1, "data": "\ud800"}, "'data' holds a lone surrogate"),
    ],
)  # fmt: skip
def test_odd_lines_that_load(
    tmp_path: Path, line: bytes, record: Record, tools_error: str | None
) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(dump([header()]) + line + b"\n")
    capture = load_capture(path)
    assert same(capture.records, [record])
    if tools_error is None:
        use_everything(capture)
    else:
        with pytest.raises(CaptureFormatError, match=re.escape(tools_error)):
            use_everything(capture)


def use_everything(capture: Capture) -> None:
    """What ``show``, ``summary`` and ``diff`` do with a capture they could load."""
    list(show_lines(capture, options=ShowOptions(payload=True, raw=True, color=True)))
    list(show_lines(capture, RecordFilter.build(pattern="x")))
    format_tables(summarize(capture))
    diffs = diff_captures(capture, capture, ignore=())
    format_diff(diff_captures(capture, load_capture(SAMPLE)))
    diff_json(diffs)


def rebuilds(record: Record) -> bool:
    try:
        rebuild(record)
    except CaptureFormatError:
        return False
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=malformed_records())
def test_the_tools_fail_only_on_records_that_are_not_bytes(
    tmp_path_factory: pytest.TempPathFactory, records: list[Record]
) -> None:
    """The tools report a ``CaptureFormatError`` (exit 2) exactly when a record's bytes
    cannot be rebuilt; any other exception would be a crash."""
    path = tmp_path_factory.mktemp("malformed") / "m.jsonl"
    path.write_bytes(dump(records))
    capture = check_loading(path, records)
    if capture is None:
        return
    if all(rebuilds(r) for r in capture.records):
        use_everything(capture)
    else:
        with pytest.raises(CaptureFormatError):
            use_everything(capture)
