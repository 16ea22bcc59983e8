"""Which path the capture takes and what the scanner leaves to the framer: the scanner's
rules, the choice of C or Python (an argument; the environment is the command lines'),
what the proxy says of it, and the fallbacks when a run is not what it says."""

from __future__ import annotations

import array
import json
import logging
from pathlib import Path

import pytest
import trio

from msmgr.codec import (
    CommandRun,
    Direction,
    Framer,
    Limits,
)
from msmgr.debug import Debug
from msproxy.capture import read_capture, rebuild
from msproxy.capture import scan as scan_module
from msproxy.capture.scan import RecordScanner
from msproxy.cli.run import capture_accelerate
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import serve_proxy

from .scanutil import COMMON_C2S, SCANNERS, assert_same, pytestmark_c, run

C2S, S2C = Direction.C2S, Direction.S2C


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


async def test_shown_commands_keep_the_fast_path_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # (the console takes the runs as they are: issue 15; it said "except while each
    # command is shown" before)
    if scan_module._scan is None:
        pytest.skip("the C extension is not built (test_the_c_extension_is_built fails)")
    caplog.set_level(logging.DEBUG)  # the console loggers of the debug flags are on
    config = ProxyConfig(
        upstream=("127.0.0.1", 9),
        listen=("127.0.0.1", 0),
        capture=tmp_path / "c.jsonl",
        debug=Debug.COMMAND_SEND | Debug.OPEN,
    )
    await says_which_path(config, caplog, logging.INFO, "(format version 2): C")
    assert not any("except while" in r.getMessage() for r in caplog.records)


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
