"""The capture's scanners write the very records the Python framer's path defines.

The Python framer's path (``Framer`` + ``command_record`` + ``encode_record``, one
``cmd`` record per command) is the definition of the records; ``RecordScanner`` frames
runs of ordinary commands without ``Command`` objects, in Python (``ordinary``, the
definition of runs) or with the C extension. These tests feed the same streams, in the
same chunks, to a framer without a scanner and with each scanner, and require the same
records, the same forwarded bytes and the same events. Format version 1: the same
bytes. Version 2: the scanners write ``run`` records, which a reader turns
(``run_records``) into exactly the ``cmd`` records of the framer's path, and the Python
and the C scanner write the same bytes, split into the same runs.
"""

from __future__ import annotations

import array
import base64
import itertools
import json
import logging
from pathlib import Path

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from msmgr.codec import (
    Command,
    CommandRun,
    Desync,
    Direction,
    Framer,
    Limits,
    Passthrough,
    Unparsed,
)
from msmgr.debug import Debug
from msproxy.capture import command_record, encode_record, read_capture, rebuild, run_records
from msproxy.capture import scan as scan_module
from msproxy.capture.scan import RecordScanner
from msproxy.cli.run import capture_accelerate
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import serve_proxy
from tests.msnp_streams import PAYLOAD, chunked, stream

from .conftest import SAMPLE_PATHS

C2S, S2C = Direction.C2S, Direction.S2C


def test_the_c_extension_is_built() -> None:
    # The fast path is optional for an install, but the project's own runs must have it:
    # every other test of this file would prove nothing without it.
    assert scan_module._scan is not None, (
        "msproxy.capture._scan is not built: install with a C compiler present "
        "(pip install -e '.[test]' builds it in place)"
    )


pytestmark_c = pytest.mark.skipif(scan_module._scan is None, reason="C extension not built")
SCANNERS = (False, True) if scan_module._scan is not None else (False,)
"""The scanners compared: Python, and C where it is built."""


def run(
    direction: Direction,
    chunks: list[bytes],
    *,
    bulk: bool,
    slow: tuple[str, ...] = (),
    limits: Limits | None = None,
    record: bool = True,
    version: int = 1,
    accelerate: bool | None = None,
) -> tuple[bytes, bytes, list[str], int]:
    """(records, forwarded bytes, event kinds, commands the scanner took) of one stream,
    the scanner's runs written in capture format ``version``; ``accelerate``: the
    scanner's (None: C when built)."""
    scanner = RecordScanner(5, direction, slow=slow, limits=limits, accelerate=accelerate)
    # the reference is the pure-Python framer (not the codec's own C accelerator)
    framer = Framer(
        direction, strict=False, limits=limits, bulk=scanner if bulk else None, accelerate=False
    )
    records: list[bytes] = []
    raw: list[bytes | memoryview] = []
    kinds: list[str] = []
    scanned = 0
    for index, chunk in enumerate(chunks):
        t = 1_700_000_000.25 + index / 7
        for event in framer.feed(chunk) + (framer.close() if index == len(chunks) - 1 else []):
            if isinstance(event, CommandRun):
                # the scanner only frames: its data is where each command ends
                assert list(array.array("I", event.data)) == ends(direction, event.raw)
                if record:
                    records.append(scanner.run(event, t).encode(version))
                raw.append(event.raw)
                kinds += ["cmd"] * event.count
                scanned += event.count
            elif isinstance(event, Command):
                records.append(encode_record(command_record(5, direction.value, event, t)))
                raw.append(event.raw or b"")
                kinds.append("cmd")
            elif isinstance(event, Unparsed):
                raw.append(event.raw)
                kinds.append(f"unparsed:{event.reason}")
            elif isinstance(event, Desync):
                kinds.append(f"desync:{event.reason}")
            elif isinstance(event, Passthrough):
                raw.append(event.data)
                kinds.append("passthrough")
    return b"".join(records), b"".join(raw), kinds, scanned


def ends(direction: Direction, raw: bytes | memoryview) -> list[int]:
    """Where each command of ``raw`` ends, by the pure-Python framer."""
    events = Framer(direction, strict=False, accelerate=False).feed(raw)
    assert all(isinstance(e, Command) for e in events)
    return list(itertools.accumulate(len(e.raw or b"") for e in events if isinstance(e, Command)))


def assert_same(
    direction: Direction,
    chunks: list[bytes],
    *,
    slow: tuple[str, ...] = (),
    limits: Limits | None = None,
) -> int:
    """Every path agrees on ``chunks``: the framer's alone (the reference), with the
    Python scanner, and with the C scanner where it is built (then the two scanners'
    version-2 records are the same bytes); returns how many commands a scanner took."""
    python = run(direction, chunks, bulk=False, slow=slow, limits=limits)
    written = []
    for accelerate in SCANNERS:
        fast = run(direction, chunks, bulk=True, slow=slow, limits=limits, accelerate=accelerate)
        assert fast[0] == python[0]
        assert fast[1] == python[1] == b"".join(chunks)[: len(python[1])]
        assert fast[2] == python[2]
        runs = run(
            direction, chunks, bulk=True, slow=slow, limits=limits, version=2, accelerate=accelerate
        )
        assert runs[1:] == fast[1:]
        assert expanded(runs[0]) == python[0]
        written.append(runs)
    assert all(runs == written[0] for runs in written)  # the run records, byte for byte
    return written[0][3]


def expanded(data: bytes) -> bytes:
    """Version-2 records with each ``run`` replaced by the ``cmd`` records it stands for
    (as ``read_capture`` does), encoded again."""
    out = []
    for line in data.splitlines():
        record = json.loads(line)
        if record["type"] != "run":
            out.append(line + b"\n")
            continue
        assert ("data" in record) != ("data_b64" in record)
        assert record["count"] >= 2  # a single command is written as its cmd record
        commands = run_records(record)
        assert len(commands) == record["count"]
        out.extend(encode_record(r) for r in commands)
    return b"".join(out)


@given(
    st.sampled_from([C2S, S2C]),
    st.lists(stream(), min_size=1, max_size=3),
    st.lists(st.integers(0, 2000), max_size=6),
    st.sampled_from([(), ("USR", "MSG Hotmail"), ("XFR", "RNG", "CAL")]),
    st.sampled_from([None, Limits(max_line=40, max_payload=30)]),
)
@settings(max_examples=400, deadline=None)
def test_generated_streams_give_the_same_records(
    direction: Direction,
    streams: list[bytes],
    cuts: list[int],
    slow: tuple[str, ...],
    limits: Limits | None,
) -> None:
    data = b"".join(streams)
    assert_same(direction, chunked(data, cuts), slow=slow, limits=limits)


@given(st.lists(stream(), min_size=1, max_size=3), st.lists(st.integers(0, 2000), max_size=6))
@settings(max_examples=100, deadline=None)
def test_frame_only_mode_frames_the_same(streams: list[bytes], cuts: list[int]) -> None:
    # With no capture the proxy still frames every command (limits, redirects): the
    # scanner frames exactly as the framer does.
    chunks = chunked(b"".join(streams), cuts)
    for direction in (C2S, S2C):
        python = run(direction, chunks, bulk=False)
        for accelerate in SCANNERS:
            fast = run(direction, chunks, bulk=True, record=False, accelerate=accelerate)
            assert fast[1:3] == python[1:3]


@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=4))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_give_the_same_records(data: bytes, cuts: list[int]) -> None:
    for direction in (C2S, S2C):
        assert_same(direction, chunked(b"MSG 1 N 3\r\nabc" + data, cuts))


@given(PAYLOAD)
@settings(max_examples=300, deadline=None)
def test_payload_text_or_base64_as_python_decides(payload: bytes) -> None:
    wire = b"MSG 1 N %d\r\n%s" % (len(payload), payload)
    assert assert_same(C2S, [wire]) == 1


def test_every_byte_value_at_every_position_of_a_word() -> None:
    # The C side checks eight payload bytes at a time: put each byte value at each
    # position of two words of plain text, and compare with the Python path.
    chunks = []
    for value in range(256):
        for position in range(16):
            payload = bytearray(b"abcdefghABCDEFGH")
            payload[position] = value
            chunks.append(b"MSG 1 N 16\r\n" + bytes(payload))
    assert assert_same(C2S, [b"".join(chunks)]) == len(chunks)


@pytest.mark.parametrize(
    ("direction", "template"),
    [
        (C2S, b"MSG 12 N 16\r\nabcdefghABCDEFGH"),
        (S2C, b"CHG 12 NLN 0 a@b.c\r\n"),
        (S2C, b'NOT 4\r\n<a"b>'),
    ],
)
def test_every_byte_value_at_every_position_of_a_command(
    direction: Direction, template: bytes
) -> None:
    # Each byte value at each position of a command, line and payload (the verb, the
    # spaces, the TrID, the byte count, the line end), then an ordinary one: every
    # path frames, splits into runs and writes them alike.
    for position in range(len(template)):
        commands = []
        for value in range(256):
            command = bytearray(template)
            command[position] = value
            commands.append(bytes(command) + b"PNG\r\n")
        assert_same(direction, [b"".join(commands)])


@pytest.mark.parametrize("path", SAMPLE_PATHS, ids=lambda p: p.name)
def test_the_samples_traffic_gives_the_same_records(path: Path) -> None:
    # Each direction of each connection of the samples, in one chunk (then, as the relay
    # does, redirects and secrets left to the framer).
    streams: dict[tuple[int, str], list[bytes]] = {}
    for record in read_capture(path):
        if record["type"] == "cmd":
            streams.setdefault((record["conn"], record["dir"]), []).append(rebuild(record))
    assert streams
    for (_, direction), commands in streams.items():
        data = b"".join(commands)
        assert_same(Direction(direction), [data])
        assert_same(Direction(direction), [data], slow=("RNG", "USR", "XFR"))


# -- the scanner takes the common case, and stops where it must ------------------------

COMMON_C2S = (
    b"MSG 4 N 26\r\nMIME-Version: 1.0\r\n\r\nhello"
    b"MSG 5 D 4\r\n\x00\xff\x00\x01"
    b"PNG\r\n"
    b"CHG 6 NLN 268435492\r\n"
    b"CAL 7 bob@example.com\r\n"
    b'UUX 8 26\r\n<Data><PSM>"\\</PSM></Data>'
)


@pytest.mark.parametrize("accelerate", SCANNERS)
def test_common_commands_all_take_the_fast_path(accelerate: bool) -> None:
    assert assert_same(C2S, [COMMON_C2S]) == 6
    records, _, _, _ = run(C2S, [COMMON_C2S], bulk=True, accelerate=accelerate)
    lines = [json.loads(line) for line in records.splitlines()]
    assert [r["cmd"] for r in lines] == ["MSG", "MSG", "PNG", "CHG", "CAL", "UUX"]
    assert lines[1]["payload_b64"] == base64.b64encode(b"\x00\xff\x00\x01").decode()
    assert lines[5]["payload"] == '<Data><PSM>"\\</PSM></Data>'


@given(st.sampled_from([C2S, S2C]), st.lists(stream(), min_size=1, max_size=4))
@settings(max_examples=300, deadline=None)
def test_a_run_is_written_without_framing_it_again_as_runs_would(
    direction: Direction, streams: list[bytes]
) -> None:
    # Any run given the relay's ends is written without framing it again: the very
    # records written when the run is framed again (by either scanner, and by C's runs()).
    scanners = [RecordScanner(5, direction, accelerate=fast) for fast in SCANNERS]
    framer = Framer(direction, strict=False, bulk=scanners[0])
    keys = b'"t":1.5,"conn":5,"dir":"%s",' % direction.value.encode()
    for event in framer.feed(b"".join(streams)):
        if not isinstance(event, CommandRun):
            continue
        assert {s(bytes(event.raw), 0) for s in scanners} == {
            (len(event.raw), event.count, event.data)
        }
        runs = scanners[0].encode_run(event.raw, event.count, 1.5, 2)
        for scanner in scanners:
            assert scanner.encode_run(event.raw, event.count, 1.5, 2) == runs
            assert scanner.encode_run(event.raw, event.count, 1.5, 2, event.data) == runs
        if scan_module._scan is not None:
            c_runs = scan_module._scan.runs(event.raw, 0, keys, *scanners[0]._tables)
            assert c_runs == (len(event.raw), event.count, runs)
            with_ends = scan_module._scan.runs(event.raw, 0, keys, *scanners[0]._tables, event.data)
            assert with_ends == c_runs


@pytest.mark.parametrize("accelerate", SCANNERS)
def test_runs_keep_text_as_text_and_binary_commands_apart(accelerate: bool) -> None:
    # Version 2: one run record per stretch of text commands (JSON text, readable) and
    # one per stretch of binary ones (base64), in wire order; a stretch of a single
    # command is its cmd record.
    records, _, _, _ = run(C2S, [COMMON_C2S], bulk=True, version=2, accelerate=accelerate)
    lines = [json.loads(line) for line in records.splitlines()]
    assert [(r["type"], r.get("count")) for r in lines] == [
        ("cmd", None),  # a text command alone
        ("cmd", None),  # a binary command alone
        ("run", 4),  # PNG, CHG, CAL, UUX
    ]
    records, _, _, _ = run(
        C2S, [COMMON_C2S + COMMON_C2S], bulk=True, version=2, accelerate=accelerate
    )
    lines = [json.loads(line) for line in records.splitlines()]
    assert [(r["type"], r.get("count")) for r in lines] == [
        ("cmd", None),
        ("cmd", None),
        ("run", 5),  # PNG CHG CAL UUX MSG
        ("cmd", None),
        ("run", 4),
    ]
    assert lines[1]["payload_b64"] == base64.b64encode(b"\x00\xff\x00\x01").decode()
    assert lines[2]["data"].startswith("PNG\r\nCHG 6 NLN")
    assert lines[2]["data"].endswith("\r\nMIME-Version: 1.0\r\n\r\nhello")
    assert lines[4]["data"].endswith('<Data><PSM>"\\</PSM></Data>')
    assert {r["t"] for r in lines} == {1_700_000_000.25}
    assert {(r["conn"], r["dir"]) for r in lines} == {(5, "c2s")}
    # a binary stretch of several commands is one record
    wire = b"MSG 1 D 1\r\n\x00MSG 2 D 1\r\n\x01PNG\r\nPNG\r\n"
    records, _, _, _ = run(C2S, [wire], bulk=True, version=2, accelerate=accelerate)
    lines = [json.loads(line) for line in records.splitlines()]
    assert [("data" in r, r["count"]) for r in lines] == [(False, 2), (True, 2)]
    assert base64.b64decode(lines[0]["data_b64"]) == wire[:24]


@pytest.mark.parametrize(
    ("direction", "slow", "wire", "taken"),
    [
        # named prefixes are left to the framer, as whole tokens only
        (S2C, ("MSG Hotmail",), b"MSG Hotmail Hotmail 2\r\nab", 0),
        (S2C, ("MSG Hotmail",), b"MSG Hotmailx Hotmail 2\r\nab", 1),
        (C2S, ("USR",), b"USR 3 MD5 S 0123\r\n", 0),
        (C2S, ("USR",), b"USRX 3\r\n", 0),  # not a verb: the framer's Unparsed
        # the dialect verbs are always left to the framer (server to client)
        (S2C, (), b"VER 1 MSNP13\r\n", 0),
        (S2C, (), b"LSG 0 Friends\r\n", 0),
        (C2S, (), b"VER 1 MSNP13 CVR0\r\n", 1),
        # numeric errors, bare LF, non-ASCII, control characters, huge TrIDs
        (S2C, (), b"241 8 3\r\nabc", 0),
        (C2S, (), b"CAL 7 bob\n", 0),
        (C2S, (), b"CAL 7 b\xc3\xa9b\r\n", 0),
        (C2S, (), b"CAL 7 b\tb\r\n", 0),
        (C2S, (), b"CAL 1234567890123456789 bob\r\n", 0),
        (C2S, (), b"CAL 123456789012345678 bob\r\n", 1),
        # at most 64 tokens
        (C2S, (), b"CAL 1" + b" x" * 62 + b"\r\n", 1),
        (C2S, (), b"CAL 1" + b" x" * 63 + b"\r\n", 0),
        # a byte count of at most 9 digits
        (C2S, (), b"MSG 1 N 000000003\r\nabc", 1),
        (C2S, (), b"MSG 1 N 0000000003\r\nabc", 0),
        # zero-padded TrID and count: taken, with the exact line kept
        (C2S, (), b"MSG 007 N 03\r\nabc", 1),
    ],
)
def test_what_the_scanner_takes(
    direction: Direction, slow: tuple[str, ...], wire: bytes, taken: int
) -> None:
    assert assert_same(direction, [wire + b"PNG\r\n"], slow=slow) == taken + 1


def test_limits_and_incomplete_commands_are_the_framers() -> None:
    limits = Limits(max_line=20, max_payload=8)
    # over the payload limit: desync, in both paths
    assert assert_same(C2S, [b"PNG\r\nMSG 1 N 9\r\n123456789PNG\r\n"], limits=limits) == 1
    # a line of exactly the limit, and one over it
    assert assert_same(C2S, [b"CAL 1 " + b"x" * 12 + b"\r\n"], limits=limits) == 1
    assert assert_same(C2S, [b"CAL 1 " + b"x" * 13 + b"\r\n"], limits=limits) == 0
    # a payload split across chunks, and a line split across chunks
    assert assert_same(C2S, [b"PNG\r\nMSG 1 N 5\r\nab", b"cde", b"PNG\r", b"\nPNG\r\n"]) == 4


@pytest.mark.parametrize("accelerate", SCANNERS)
def test_records_read_back_and_rebuild_the_stream(tmp_path: object, accelerate: bool) -> None:
    records, raw, _, _ = run(C2S, [COMMON_C2S], bulk=True, accelerate=accelerate)
    header = b'{"type":"header","format":"msnp-capture","version":1,"started":0,"tool":"t"}\n'
    path = f"{tmp_path}/c.jsonl"
    with open(path, "wb") as file:
        file.write(header + records)
    rebuilt = b"".join(rebuild(r) for r in read_capture(path) if r["type"] == "cmd")
    assert rebuilt == raw == COMMON_C2S
    # version 2: the reader gives the same cmd records; unexpanded, the runs rebuild too
    runs, _, _, _ = run(C2S, [COMMON_C2S], bulk=True, version=2, accelerate=accelerate)
    with open(path, "wb") as file:
        file.write(header.replace(b'"version":1', b'"version":2') + runs)
    assert list(read_capture(path))[1:] == [json.loads(line) for line in records.splitlines()]
    kept = list(read_capture(path, expand_runs=False))[1:]
    assert [r["type"] for r in kept] == ["cmd", "cmd", "run"]
    assert b"".join(rebuild(r) for r in kept) == COMMON_C2S


@pytestmark_c
def test_bad_arguments_are_refused_clearly() -> None:
    assert scan_module._scan is not None
    scan = scan_module._scan.scan
    with pytest.raises(ValueError, match="outside"):
        scan(b"PNG\r\n", 9, b"{", b"", b"", (), 100, 100)
    with pytest.raises(TypeError, match="tuple of bytes"):
        scan(b"PNG\r\n", 0, b"{", b"", b"", ("PNG",), 100, 100)
    with pytest.raises(TypeError):
        scan("PNG\r\n", 0, b"{", b"", b"", (), 100, 100)
    runs = scan_module._scan.runs
    with pytest.raises(ValueError, match="not increasing"):
        runs(b"PNG\r\nPNG\r\n", 0, b"", b"", b"", (), 100, 100, array.array("I", [5, 3]))
    with pytest.raises(ValueError, match="not increasing"):
        runs(b"PNG\r\n", 0, b"", b"", b"", (), 100, 100, array.array("I", [9]))
    with pytest.raises(ValueError, match="whole uint32"):
        runs(b"PNG\r\n", 0, b"", b"", b"", (), 100, 100, b"\x05\x00")
    with pytest.raises(TypeError, match="takes no ends"):
        scan(b"PNG\r\n", 0, None, b"", b"", (), 100, 100, b"")
    # a single command whose end is not where it ends: refused, not written wrong
    with pytest.raises(ValueError, match="not increasing"):
        runs(b"PNG\r\nPNG\r\n", 0, b"", b"", b"", (), 100, 100, array.array("I", [10]))
    with pytest.raises(TypeError, match="needs the records' keys"):
        scan_module._scan.runs(b"PNG\r\n", 0, None, b"", b"", (), 100, 100)


def test_the_path_is_an_argument_and_the_environment_the_command_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = scan_module._scan is not None
    # the library reads no environment: None means C when built
    monkeypatch.setenv(scan_module.PURE_PYTHON_ENV, "1")
    assert scan_module.accelerated() is built
    assert RecordScanner(1, C2S).accelerated is built
    assert not RecordScanner(1, C2S, accelerate=False).accelerated
    assert ProxyConfig(upstream=("127.0.0.1", 9)).accelerate is None
    # msproxy run and demo read it, once, into ProxyConfig(accelerate=...)
    assert capture_accelerate() is False
    monkeypatch.delenv(scan_module.PURE_PYTHON_ENV)
    assert capture_accelerate() is None
    monkeypatch.setattr(scan_module, "_scan", None)
    assert not RecordScanner(1, C2S).accelerated
    with pytest.raises(RuntimeError, match="not built"):
        RecordScanner(1, C2S, accelerate=True)


@pytest.mark.parametrize(
    ("built", "accelerate", "level", "says"),
    [
        (True, None, logging.INFO, "): C"),
        (True, False, logging.INFO, "pure Python (turned off: accelerate=False, or MSPROXY_PURE"),
        (False, None, logging.WARNING, "the C extension msproxy.capture._scan is not built"),
    ],
)
async def test_the_proxy_says_which_path_its_capture_takes(
    built: bool,
    accelerate: bool | None,
    level: int,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if built and scan_module._scan is None:
        pytest.skip("the C extension is not built (test_the_c_extension_is_built fails)")
    if not built:
        monkeypatch.setattr(scan_module, "_scan", None)
    caplog.set_level(logging.INFO, logger="msproxy.proxy.server")
    config = ProxyConfig(
        upstream=("127.0.0.1", 9),
        listen=("127.0.0.1", 0),
        capture=tmp_path / "c.jsonl",
        accelerate=accelerate,
    )
    await says_which_path(config, caplog, level, says)


async def says_which_path(
    config: ProxyConfig, caplog: pytest.LogCaptureFixture, level: int, says: str
) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_proxy, config)
            nursery.cancel_scope.cancel()
    (record,) = [r for r in caplog.records if r.getMessage().startswith("capture (")]
    assert record.levelno == level
    assert says in record.getMessage()
    assert record.getMessage().startswith(f"capture (format version {config.capture_version}): ")


async def test_the_proxy_says_when_shown_commands_keep_the_fast_path_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if scan_module._scan is None:
        pytest.skip("the C extension is not built (test_the_c_extension_is_built fails)")
    caplog.set_level(logging.DEBUG)  # the console loggers of the debug flags are on
    config = ProxyConfig(
        upstream=("127.0.0.1", 9),
        listen=("127.0.0.1", 0),
        capture=tmp_path / "c.jsonl",
        debug=Debug.COMMAND_SEND | Debug.OPEN,
    )
    says = "C, except while each command is shown (COMMAND_SEND): -q"
    await says_which_path(config, caplog, logging.INFO, says)


@pytestmark_c
def test_a_run_the_encoder_frames_otherwise_is_written_the_python_way(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Should the C encoder ever frame a run differently from how it was framed on the
    # relay's path, the run is written by the Python path (and the bug logged): the
    # capture stays complete and right, and the same as the Python scanner's.
    scanner = RecordScanner(5, C2S)
    framer = Framer(C2S, strict=False, bulk=scanner)
    (run_event,) = framer.feed(COMMON_C2S)
    assert isinstance(run_event, CommandRun)
    assert scan_module._scan is not None
    real_scan = scan_module._scan.scan

    class Broken:
        @staticmethod
        def scan(*args: object) -> tuple[int, int, bytes]:
            if args[2] is None:  # framing only: as built
                result: tuple[int, int, bytes] = real_scan(*args)
                return result
            return (0, 0, b"")  # writing records: "frames" nothing

        @staticmethod
        def runs(*args: object) -> tuple[int, int, bytes]:
            return (len(COMMON_C2S), 2, b"")  # frames two commands of six

    monkeypatch.setattr(scanner, "_c", Broken)
    for version, says in ((1, "framed as 0 (0 of 138 bytes)"), (2, "framed as 2 (138 of")):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="msproxy.capture.scan"):
            data = scanner.run(run_event, 1_700_000_000.25).encode(version)
        assert says in caplog.text
        expected = run(C2S, [COMMON_C2S], bulk=True, version=version, accelerate=False)[0]
        assert data == expected
    assert expected != run(C2S, [COMMON_C2S], bulk=False)[0]  # (version 2: runs)


def test_a_run_that_is_not_what_it_says_is_written_as_cmd_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Bytes that are not the ordinary commands a run says (a bug): the Python path
    # writes the cmd records of whatever they are, and logs the bug.
    scanner = RecordScanner(5, C2S, accelerate=False)
    t = 1_700_000_000.25
    odd = b"CAL 7 b\xc3\xa9b\r\n"  # not ordinary (not ASCII)
    cases = [
        (COMMON_C2S, 5, None, "5 commands framed as 6 (138 of 138 bytes)"),
        (COMMON_C2S + odd, 7, None, "7 commands framed as 6 (138 of 150 bytes)"),
        (COMMON_C2S, 6, array.array("I", [138]).tobytes(), "6 commands framed as 1 (138 of"),
    ]
    for raw, count, ends, says in cases:
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="msproxy.capture.scan"):
            data = scanner.encode_run(raw, count, t, 2, ends)
        assert says in caplog.text
        assert data == run(C2S, [raw], bulk=False)[0]
