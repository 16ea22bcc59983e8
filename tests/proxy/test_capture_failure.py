"""A capture write that fails (a full disk, EIO) stops the capture, not the relay: the
file keeps its complete lines, one ERROR line says so, and the loss is reported on exit."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

import msproxy.capture.writer as writer_module
from msproxy.__main__ import main
from msproxy.capture import CaptureWriter, read_capture
from msproxy.capture.writer import CaptureWriteError
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.loss import CAPTURE_INCOMPLETE
from msproxy.proxy.server import ProxyListening, serve_proxy
from msproxy.proxy.sink import CaptureSink
from tests.proxy_process import echo, msproxy_process


def message(trid: int, size: int = 1000) -> bytes:
    return b"MSG %d N %d\r\n" % (trid, size) + b"x" * size


async def exchange(client: trio.SocketStream, data: bytes) -> None:
    """Send ``data`` and read it all back (from the echoing upstream)."""
    await client.send_all(data)
    got = b""
    while len(got) < len(data):
        chunk = await client.receive_some(len(data) - len(got))
        assert chunk, "the proxy closed the connection"
        got += chunk
    assert got == data


def complete_lines(path: Path) -> list[dict[str, object]]:
    """The file's records, checking that it ends with a complete line."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), data[-80:]
    return [json.loads(line) for line in data.splitlines()]


def test_writer_cuts_a_failed_write_back_to_its_last_whole_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``writev`` that writes one piece and a half, then ENOSPC: the half is cut off
    again, the error says one piece stayed."""
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, tool="t", started=0.0)
    writer.write({"type": "close", "t": 1.0, "conn": 1, "by": "client", "reason": "x"})
    before = path.read_bytes()

    def some_then_full(fd: int, pieces: list[bytes]) -> int:
        written = os.write(fd, b"".join(pieces)[: len(pieces[0]) * 3 // 2])
        monkeypatch.setattr(os, "write", full_disk)
        return written

    def full_disk(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writer_module, "_writev", some_then_full)
    lines = [
        b'{"type":"close","t":2,"conn":%d,"by":"client","reason":"x"}\n' % i for i in (2, 3, 4)
    ]
    with pytest.raises(CaptureWriteError, match="No space left") as failed:
        writer.write_pieces(lines, 3)
    assert failed.value.kept == 1
    assert failed.value.errno == errno.ENOSPC
    assert not writer.torn
    assert path.read_bytes() == before + lines[0]
    monkeypatch.undo()
    writer.write_pieces(lines[1:], 2)  # the disk has room again: appended after the cut
    assert path.read_bytes() == before + b"".join(lines)
    writer.close()


async def test_injected_write_failure_stops_the_capture_not_the_relay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, record_path: str
) -> None:
    """EIO on every write from some point on: the connection goes on, one ERROR line
    says what is lost and from when, every record from then on is counted."""
    capture = tmp_path / "c.jsonl"
    caplog.set_level(logging.INFO, logger="msproxy.proxy.sink")
    sent = 20
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            (up,) = await nursery.start(partial(trio.serve_tcp, echo, 0, host="127.0.0.1"))
            config = ProxyConfig(
                upstream=up.socket.getsockname()[:2], listen=("127.0.0.1", 0), capture=capture
            )
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            assert listening.sink is not None
            assert listening.sink.writer is not None
            client = await trio.open_tcp_stream(*listening.address)
            await exchange(client, b"VER 1 MSNP8 CVR0\r\n")
            await trio.testing.wait_all_tasks_blocked()  # the proxy has queued both records
            listening.sink.flush()
            kept = complete_lines(capture)

            def broken(pieces: list[bytes], records: int) -> None:
                raise OSError(errno.EIO, os.strerror(errno.EIO))

            listening.sink.writer.write_pieces = broken  # type: ignore[method-assign]
            for trid in range(2, 2 + sent):
                await exchange(client, message(trid))
            await client.aclose()
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    loss = listening.loss
    assert loss is not None
    assert loss.lost == 2 * sent + 1  # each command both ways, then the close
    assert loss.error.errno == errno.EIO
    assert complete_lines(capture) == kept
    assert [r["type"] for r in kept] == ["header", "open", "cmd", "cmd"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert re.search(
        rf"capture stopped: writing {re.escape(str(capture))} failed \(Input/output error\); "
        r"every record from \d\d:\d\d:\d\d\.\d\d\d on is lost",
        errors[0].getMessage(),
    )
    details = [r for r in caplog.records if "failure details" in r.getMessage()]
    assert len(details) == 1
    assert details[0].exc_info is not None
    assert loss.summary().startswith(f"the capture {capture} is incomplete: {2 * sent + 1} records")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only): a real full disk."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_full_disk_while_stopping_keeps_complete_lines(small_disk: Path) -> None:
    """The flush on the way out meets a real ENOSPC: what fitted is kept in whole lines,
    nothing torn, the rest counted, from the first record that did not fit."""
    capture = small_disk / "c.jsonl"
    writer = CaptureWriter(capture, tool="t", started=0.0)
    sink = CaptureSink(writer)
    filler = small_disk / "filler"
    with filler.open("wb") as out:
        try:
            out.write(b"f" * 60 * 1024)
        except OSError:
            pass
    before = capture.read_bytes()
    records = [
        {"type": "close", "t": 5.0 + i, "conn": i, "by": "client", "reason": "y" * 500}
        for i in range(40)
    ]
    sink.put(records)
    sink.flush()
    writer.close()
    assert sink.loss is not None
    assert sink.loss.error.errno == errno.ENOSPC
    assert capture.read_bytes().startswith(before)
    written = complete_lines(capture)[1:]  # what fitted, whole lines only
    kept = len(written)
    assert 0 < kept < 40
    assert [r["conn"] for r in written] == list(range(kept))
    assert sink.loss.lost == 40 - kept
    assert sink.loss.since == 5.0 + kept


async def test_real_full_disk_is_survived_and_reported_on_exit(
    small_disk: Path, tmp_path: Path
) -> None:
    """``msproxy run`` capturing onto a 64 KiB tmpfs while 400 KB go through: every byte
    is relayed, the file keeps complete lines, one ERROR line, and on SIGINT the loss is
    told and the exit status is 3."""
    capture = small_disk / "c.jsonl"
    errors = tmp_path / "stderr.txt"
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            (up,) = await nursery.start(partial(trio.serve_tcp, echo, 0, host="127.0.0.1"))
            argv = [sys.executable, "-m", "msproxy", "run", "-q", "--listen", "127.0.0.1:0"]
            argv += ["--upstream", f"127.0.0.1:{up.socket.getsockname()[1]}"]
            argv += ["--capture", str(capture)]
            async with msproxy_process(argv, errors) as (proc, address):
                client = await trio.open_tcp_stream(*address)
                await exchange(client, b"VER 1 MSNP8 CVR0\r\n")
                await trio.sleep(0.5)  # written (the writer wakes every 0.1 s)
                for trid in range(2, 402):
                    await exchange(client, message(trid))
                proc.send_signal(2)
                assert await proc.wait() == CAPTURE_INCOMPLETE, errors.read_text()
                await client.aclose()
            nursery.cancel_scope.cancel()
    text = errors.read_text()
    assert text.count("capture stopped") == 1, text
    assert "No space left on device" in text
    (summary,) = [line for line in text.splitlines() if line.startswith("msproxy: ")]
    lost = re.fullmatch(
        rf"msproxy: the capture {re.escape(str(capture))} is incomplete: (\d+) records lost "
        r"from \d\d:\d\d:\d\d\.\d\d\d on \(No space left on device\)",
        summary,
    )
    assert lost, summary
    records = complete_lines(capture)
    assert records[0]["type"] == "header"
    read = list(read_capture(capture))
    assert [r["type"] for r in read[:4]] == ["header", "open", "cmd", "cmd"]
    # the open, every command both ways, the close: each in the file or counted as lost
    assert int(lost[1]) > 0
    assert len(read) - 1 + int(lost[1]) == 1 + 2 * 401 + 1


@pytest.mark.usefixtures("restore_logging")
def test_demo_on_a_full_disk_says_so_and_exits_3(
    small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``msproxy demo`` with 4 KiB left for its 12 KB capture: the conversation still
    completes, the part of the capture that was written is shown, the loss is told."""
    with (small_disk / "filler").open("wb") as filler:
        filler.write(b"f" * 60 * 1024)
    capture = small_disk / "demo.jsonl"
    assert main(["demo", "--capture", str(capture), "--color", "never"]) == CAPTURE_INCOMPLETE
    out, err = capsys.readouterr()
    assert "== Its summary" in out
    assert re.search(
        rf"^msproxy demo: the capture {re.escape(str(capture))} is incomplete: [1-9]\d* "
        r"records lost from \d\d:\d\d:\d\d\.\d\d\d on \(No space left on device\)$",
        err,
        re.MULTILINE,
    ), err
    assert err.count("capture stopped") == 1
    complete_lines(capture)
