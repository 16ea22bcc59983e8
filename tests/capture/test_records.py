"""Every record builder makes what its TypedDict states: the required keys, no others, in
the order of the fields (the order the files are written in), with the values' types."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msmgr.codec import Command
from msproxy import capture
from msproxy.capture import format as capture_format
from msproxy.capture import ordinary
from msproxy.capture import records as r

CASES: list[tuple[type[Any], r.Record]] = [
    (r.HeaderRecord, r.header_record(1.0, "test", version=1)),
    (
        r.OpenRecord,
        r.open_record(1, 0.5, role=None, client="c:1", upstream=None, parent=None, via=None),
    ),
    (
        r.OpenRecord,
        r.open_record(
            2, 0.5, role="SB", client="c:1", upstream="u:2", parent=1, via="RNG", ready=0.7
        ),
    ),
    (r.CmdRecord, r.command_record(1, "c2s", Command("PNG", None, (), None, b"PNG\r\n"), 1.0)),
    (r.CmdRecord, r.command_record(1, "c2s", Command("PNG", None, (), None, b"PNG\n"), 1.0)),
    (r.CmdRecord, r.command_record(1, "s2c", Command("MSG", None, ("a", "b"), b"hi"), 1.0)),
    (
        r.CmdRecord,
        r.command_record(1, "s2c", Command("MSG", 7, ("a",), b"\x00", b"MSG 007 a 1\r\n\x00"), 1),
    ),
    (
        r.CmdRecord,
        r.command_record(1, "c2s", Command("ADD", 2, ("a\udcff",), None, b"ADD 2 a\xff\r\n"), 1),
    ),
    (r.CmdRecord, r.redacted_command_record(1, "c2s", Command("USR", 3, ("MD5", "S", "x")), 1.0)),
    (r.RawRecord, r.raw_record(1, "s2c", b"what?\r\n", "not a command", 1.0)),
    (r.RawRecord, r.raw_record(1, "c2s", b"\x00\x01", "after desync", 1.0, forwarded=False)),
    (
        r.RewriteRecord,
        r.rewrite_record(
            1, 2.0, cmd="RNG", kind="SB", original="a:1", new="b:2", cookie="c", sessid="s"
        ),
    ),
    (r.RewriteRecord, r.rewrite_record(1, 2.0, cmd="XFR", kind="NS", original="a:1", new="b:2")),
    (r.ErrorRecord, r.error_record(1, "connect", "refused", 1.0)),
    (r.ErrorRecord, r.error_record(1, "limit", "line too long", 1.0, "c2s")),
    (r.CloseRecord, r.close_record(1, "server", "end of stream", 1.0)),
    (r.CloseRecord, r.close_record(1, "client", "end of stream", 1.0, finished=2.0)),
    (r.RunRecord, r.run_record(1, "c2s", b"PNG\r\nPNG\r\n", 2, 1.0)),
    (
        r.FaultRecord,
        r.fault_record(1, "s2c", 1.0, action="drop", rule=1, cmd="NLN", offset=0, size=9),
    ),
    (
        r.FaultRecord,
        r.fault_record(1, "c2s", 1.0, action="delay", rule=2, cmd="MSG", offset=5, size=9, ms=2.5),
    ),
    (r.RunRecord, r.run_record(1, "s2c", memoryview(b"MSG 1 D 1\r\n\x00PNG\r\n"), 2, 1.0)),
    (r.RunRecord, r.run_record(1, "c2s", b"PNG\r\nOUT\r\n", 2, 1.0, text=True)),
    (r.RunRecord, r.run_record(1, "c2s", b"PNG\r\nOUT\r\n", 2, 1.0, text=False)),
]


@pytest.mark.parametrize(("kind", "record"), CASES)
def test_a_builder_makes_its_typed_record(kind: type[Any], record: r.Record) -> None:
    hints = typing.get_type_hints(kind, include_extras=True)
    required = {k for k, v in hints.items() if typing.get_origin(v) is not typing.NotRequired}
    keys = list(record)
    assert required <= set(keys)
    assert [k for k in hints if k in record] == keys  # no other key, in field order
    assert record["type"] == typing.get_args(hints["type"])[0]
    first_version = r.RUN_VERSION if kind is r.RunRecord else 1
    assert record["type"] in r.RECORD_TYPES_BY_VERSION[first_version]


def test_every_record_type_has_a_typed_builder() -> None:
    built = {record["type"] for _, record in CASES}
    assert built == r.RECORD_TYPES_BY_VERSION[max(r.VERSIONS)]


def test_the_bytes_go_in_text_or_base64() -> None:
    assert "payload" in r.command_record(1, "s2c", Command("MSG", None, ("a",), b"hi"), 1.0)
    assert "payload_b64" in r.command_record(1, "s2c", Command("MSG", None, ("a",), b"\x00"), 1.0)
    assert r.raw_record(1, "c2s", b"\xff", "x", 1.0)["data_b64"] == "/w=="
    assert r.raw_record(1, "c2s", b"x\r\n", "x", 1.0)["data"] == "x\r\n"
    assert r.text_of("é\t\r\n".encode()) == "é\t\r\n"
    assert r.text_of(b"") == ""
    assert r.run_record(1, "c2s", b"PNG\r\nPNG\r\n", 2, 1.0)["data"] == "PNG\r\nPNG\r\n"
    assert r.run_record(1, "c2s", b"PNG\r\n\x7f", 2, 1.0)["data_b64"] == "UE5HDQp/"
    # (the caller that knows already says so: ordinary.stretches)
    assert r.run_record(1, "c2s", b"PNG\r\n", 2, 1.0, text=False)["data_b64"] == "UE5HDQo="


@pytest.mark.parametrize("value", range(256))
def test_text_is_utf8_without_control_bytes_but_tab_lf_cr(value: int) -> None:
    data = b"a" + bytes([value]) + b"b"
    control = (value < 0x20 and value not in b"\t\n\r") or value == 0x7F
    utf8 = value < 0x80
    assert r.is_text(data) is (utf8 and not control)
    assert (value in r.CONTROL_BYTES) is control
    assert r.text_of(data) == (data.decode() if r.is_text(data) else None)
    record: r.Record = {}
    r.put_bytes(record, "x", data)
    assert list(record) == (["x"] if r.is_text(data) else ["x_b64"])


def test_the_old_names_still_import() -> None:
    for name in ("command_record", "header_record", "put_bytes", "FORMAT_VERSION", "Record"):
        assert getattr(capture_format, name) is getattr(r, name)
        assert getattr(capture, name) is getattr(r, name)


COMMAND = st.one_of(st.binary(max_size=12), st.text(max_size=12).map(str.encode)).map(
    lambda tail: b"A" + tail  # (each ordinary command starts with a letter)
)


@given(st.lists(COMMAND, min_size=1, max_size=8))
@settings(max_examples=500, deadline=None)
def test_runs_split_where_text_of_says(commands: list[bytes]) -> None:
    # ordinary.binary_commands applies text_of's rule to all the commands of a run at once
    ends = [sum(map(len, commands[: i + 1])) for i in range(len(commands))]
    binary = ordinary.binary_commands(b"".join(commands), ends)
    assert binary == [i for i, command in enumerate(commands) if not r.is_text(command)]
