"""Malformed captures: whatever a record holds, reading it raises ``CaptureFormatError``
or nothing, never ``TypeError``/``KeyError``/... (the tools turn ``CaptureFormatError``
into a clear message and exit status 2; anything else would be a traceback)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msproxy.capture import CaptureFormatError, Record, read_capture
from msproxy.inspect import load_capture
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


def read_everything(path: Path) -> None:
    """What ``show``/``summary``/``diff`` do first: must only ever raise CaptureFormatError."""
    try:
        list(read_capture(path))
        load_capture(path)
    except CaptureFormatError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=malformed_records())
def test_malformed_records_raise_only_capture_format_errors(
    tmp_path_factory: pytest.TempPathFactory, records: list[Record]
) -> None:
    path = tmp_path_factory.mktemp("malformed") / "m.jsonl"
    path.write_bytes(dump(records))
    read_everything(path)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"type": []}, "line 2 has unknown type []"),
        ({"type": {"a": 1}}, "line 2 has unknown type {'a': 1}"),
        ({"type": 7}, "line 2 has unknown type 7"),
        ({"type": None}, "line 2 has unknown type None"),
        ({"type": "cmd", "conn": [1]}, "has no integer 'conn'"),
        ({"type": "close", "conn": 1, "t": 10**400}, "'t'"),
        ({"type": "open", "conn": 1, "t": 1.0, "parent": 10**400}, None),
    ],
)
def test_wrong_types_table(tmp_path: Path, record: dict[str, Any], message: str | None) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(dump([header(), record]))
    if message is None:
        load_capture(path)
        return
    with pytest.raises(CaptureFormatError, match=re.escape(message)):
        load_capture(path)  # reads with read_capture, then builds the model


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "line 2 is not JSON"),
        (b'{"type":"cmd","conn":1,"t":' + b"1" * 5000 + b"}", "line 2 is not JSON"),
        (b'{"type":"cmd","conn":1,"t":1e999999}', None),  # inf: read, times unknown
        (b'{"type":"cmd","conn":1,"t":NaN}', None),
        (b'{"type":"raw","conn":1,"data":"\\udcff"}', None),  # the byte 0xff
        (b'{"type":"raw","conn":1,"data":"\\ud800"}', None),
        (b"\xff\xfe{}", "line 2 is not JSON"),
        (b"[1]", "line 2 is not a JSON object"),
    ],
)
def test_odd_lines(tmp_path: Path, line: bytes, message: str | None) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(dump([header()]) + line + b"\n")
    if message is None:
        use_everything(path)
        return
    with pytest.raises(CaptureFormatError, match=message):
        list(read_capture(path))


def use_everything(path: Path) -> None:
    """What ``show``, ``summary`` and ``diff`` do with a capture they could load: they
    report a ``CaptureFormatError`` as trouble (exit 2), anything else would be a crash."""
    try:
        capture = load_capture(path)
        list(show_lines(capture, options=ShowOptions(payload=True, raw=True, color=True)))
        list(show_lines(capture, RecordFilter.build(pattern="x")))
        format_tables(summarize(capture))
        diffs = diff_captures(capture, capture, ignore=())
        format_diff(diff_captures(capture, load_capture(SAMPLE)))
        diff_json(diffs)
    except CaptureFormatError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=malformed_records())
def test_the_tools_raise_only_capture_format_errors(
    tmp_path_factory: pytest.TempPathFactory, records: list[Record]
) -> None:
    path = tmp_path_factory.mktemp("malformed") / "m.jsonl"
    path.write_bytes(dump(records))
    use_everything(path)
