"""The live console off the relay's path: runs handed over whole, lines made by the
console's task within its share of the loop, what it skips said once per interval."""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from msmgr.debug import Debug
from msproxy.capture import read_capture
from msproxy.cli.consolestream import BackgroundStreamHandler
from msproxy.proxy import ProxyConfig, serve_proxy
from msproxy.proxy.commands import Log, LogRun, ProxyCommand
from msproxy.proxy.console import Console
from msproxy.proxy.events import Side
from msproxy.view import filterlang

from .relayutil import sent, started

SHOWN = Debug.COMMAND_SEND | Debug.COMMAND_RECV | Debug.OPEN | Debug.CLOSE


def messages(count: int, start: int = 2) -> bytes:
    """``count`` pipelined client ``MSG`` commands of 100-odd bytes, TrIDs from ``start``."""
    body = b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 50
    return b"".join(
        b"MSG %d N %d\r\n" % (trid, len(body)) + body for trid in range(start, start + count)
    )


class Lines(logging.Handler):
    """Collects the messages of the ``msmgr.debug`` loggers."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def lines() -> Iterator[list[str]]:
    debug = logging.getLogger("msmgr.debug")
    handler, level = Lines(), debug.level
    debug.addHandler(handler)
    debug.setLevel(logging.DEBUG)
    yield handler.lines
    debug.removeHandler(handler)
    debug.setLevel(level)


def console_items(out: list[ProxyCommand]) -> list[Log | LogRun]:
    return [c for c in out if isinstance(c, Log | LogRun)]


def test_runs_stay_on_the_fast_path_and_show_the_same_lines(lines: list[str]) -> None:
    data = messages(300)
    _slow, slow_driver = started(debug=SHOWN)
    _fast, fast_driver = started(debug=SHOWN, console_runs=True)
    slow_out = slow_driver.feed(Side.CLIENT, data)
    fast_out = fast_driver.feed(Side.CLIENT, data)
    assert sent(fast_out, Side.UPSTREAM) == sent(slow_out, Side.UPSTREAM) == data
    per_command = console_items(slow_out)
    assert len(per_command) == 300
    assert all(type(c) is Log for c in per_command)
    runs = [c for c in console_items(fast_out) if type(c) is LogRun]
    assert runs
    assert sum(r.run.count for r in runs) == 300

    console = Console()
    for item in console_items(fast_out):
        console.offer(item)
    console.flush()
    by_console = list(lines)
    lines.clear()
    old = Console()
    for item in per_command:
        old.offer(item)
    old.flush()
    assert by_console == lines
    assert by_console[0] == "DS#1 -> MSG 2 N 97  [text/plain, 97 bytes]"
    assert console.shown == 300
    assert not console.skipped


def test_the_filter_applies_to_runs(lines: list[str]) -> None:
    _relay, driver = started(debug=SHOWN, console_runs=True)
    console = Console(shows=filterlang.compile("trid 7 or trid 250"))
    for item in console_items(driver.feed(Side.CLIENT, messages(300))):
        console.offer(item)
    console.flush()
    assert [line.split()[3] for line in lines] == ["7", "250"]


def test_a_busy_output_skips_and_says_what(lines: list[str]) -> None:
    _relay, driver = started(debug=SHOWN, console_runs=True)
    console = Console(busy=lambda: True)
    for item in console_items(driver.feed(Side.CLIENT, messages(1000))):
        console.offer(item)
    console.offer(Log(flag=Debug.CONFUSED, level=logging.WARNING, msg="%s trouble", args=("X",)))
    console.flush()
    assert lines == [
        "X trouble",
        " ... 1,000 commands not shown (DS#1 1,000: MSG): see the capture",
    ]


def test_what_the_console_has_no_time_for_is_counted(lines: list[str]) -> None:
    _relay, driver = started(debug=SHOWN, console_runs=True)
    console = Console()
    for item in console_items(driver.feed(Side.CLIENT, messages(5000))):
        console.offer(item)
    console.show(deadline=0.0)  # no time at all
    console.flush()
    assert lines == [" ... 5,000 commands not shown (DS#1 5,000: MSG): see the capture"]


async def test_skips_are_said_once_per_interval_while_the_proxy_runs(
    lines: list[str],
) -> None:
    _, driver = started(debug=SHOWN, console_runs=True)
    busy = [True]
    console = Console(busy=lambda: busy[0], skip_interval=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(console.run)
        said = " ... 1,000 commands not shown (DS#1 1,000: MSG): see the capture"
        for trid in (2, 1002):
            for item in console_items(driver.feed(Side.CLIENT, messages(1000, trid))):
                console.offer(item)
            await trio.sleep(0.02)
        assert lines == [said]  # the second batch within the interval: not said yet
        await trio.sleep(0.2)  # nothing more comes: said all the same
        assert lines == [said, said]
        busy[0] = False
        for item in console_items(driver.feed(Side.CLIENT, messages(3, 2002))):
            console.offer(item)
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert len(lines) == 2 + 3
    assert lines[-1] == "DS#1 -> MSG 2004 N 97  [text/plain, 97 bytes]"


class BlockedStream(io.StringIO):
    """A console output that blocks every write until ``opened`` (a pipe not read)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()
        self.writing = threading.Event()

    def write(self, text: str) -> int:
        self.writing.set()
        self.opened.wait(10)
        return super().write(text)


async def sink_server(
    received: list[int],
    done: trio.Event,
    total: int,
    *,
    task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """An upstream that answers VER and counts the bytes it reads after it."""

    async def serve(stream: trio.SocketStream) -> None:
        async with stream:
            await count(stream)

    async def count(stream: trio.SocketStream) -> None:
        first = await stream.receive_some()
        await stream.send_all(b"VER 1 MSNP8\r\n")
        received.append(len(first) - len(b"VER 1 MSNP8 CVR0\r\n"))
        while sum(received) < total:
            data = await stream.receive_some()
            if not data:
                break
            received.append(len(data))
        done.set()

    await trio.serve_tcp(serve, 0, host="127.0.0.1", task_status=task_status)


async def test_a_blocked_console_never_stalls_the_relay(tmp_path: Path) -> None:
    stream = BlockedStream()
    handler = BackgroundStreamHandler(stream, busy_at=0)  # busy while a line waits
    debug = logging.getLogger("msmgr.debug")
    level, propagate = debug.level, debug.propagate
    debug.addHandler(handler)
    debug.setLevel(logging.DEBUG)
    debug.propagate = False
    data = messages(20_000)
    received: list[int] = []
    done = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(sink_server, received, done, len(data))
            port = listeners[0].socket.getsockname()[1]
            config = ProxyConfig(
                upstream=("127.0.0.1", port),
                listen=("127.0.0.1", 0),
                capture=tmp_path / "c.jsonl",
                debug=SHOWN,
                console_busy=handler.busy,
            )
            listening = await nursery.start(serve_proxy, config)
            client = await trio.open_tcp_stream(*listening.address)
            await client.send_all(b"VER 1 MSNP8 CVR0\r\n")
            assert await client.receive_some() == b"VER 1 MSNP8\r\n"
            # the console's first lines: its output blocks from now on
            assert await trio.to_thread.run_sync(stream.writing.wait, 5)
            for at in range(0, len(data), 65536):  # a console line blocks meanwhile
                await client.send_all(data[at : at + 65536])
            with trio.fail_after(10):
                await done.wait()
            assert not stream.opened.is_set()  # forwarded while the output was blocked
            await client.aclose()
            nursery.cancel_scope.cancel()
    finally:
        stream.opened.set()
        handler.flush()
        debug.removeHandler(handler)
        debug.setLevel(level)
        debug.propagate = propagate
    assert sum(received) == len(data)  # everything was forwarded
    records = list(read_capture(tmp_path / "c.jsonl"))
    counted = sum(r.get("count", 1) for r in records if r["type"] in ("cmd", "run"))
    assert counted == 20_002  # the capture is complete (both VERs too)
    out = stream.getvalue()
    skipped = re.findall(r"^ \.\.\. ([\d,]+) commands .*not shown \(DS#1 ", out, re.M)
    assert re.search(r"not shown \(DS#1 [\d,]+: MSG", out), out  # said once writable again
    shown = len(re.findall(r"^DS#1 (->|<-) ", out, re.M))
    assert shown + sum(int(n.replace(",", "")) for n in skipped) == 20_002
