"""Accepting under limits (``msmgr.serving``): caps in total and per client address for
the proxy and the reference server, descriptors running out, one log line per period."""

from __future__ import annotations

import errno
import logging
import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import msmgr.serving as serving
from msmgr.server import ServerAddresses, ServerConfig, serve_reference
from msmgr.serving import ConnectionGate, ConnectionLimits, serve_limited
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import ProxyListening, serve_proxy
from tests.proxy_process import echo, msproxy_process

VER = b"VER 1 MSNP8 CVR0\r\n"


async def served(address: tuple[str, int], *, source: str = "127.0.0.1") -> trio.SocketStream:
    """A connection through the proxy that gets its VER echoed (admitted and relayed)."""
    stream = await trio.open_tcp_stream(*address, local_address=source)
    await stream.send_all(VER)
    assert await stream.receive_some(100) == VER
    return stream


async def refused(address: tuple[str, int], *, source: str = "127.0.0.1") -> None:
    """A connection that is closed at once, before it sends anything."""
    async with await trio.open_tcp_stream(*address, local_address=source) as stream:
        assert await stream.receive_some(100) == b""


def warnings_matching(caplog: pytest.LogCaptureFixture, pattern: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and re.search(pattern, r.getMessage())
    ]


async def test_proxy_caps_in_total_and_per_address_then_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="msmgr.serving")
    limits = ConnectionLimits(total=3, per_address=2, log_every=60.0)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            (up,) = await nursery.start(partial(trio.serve_tcp, echo, 0, host="127.0.0.1"))
            config = ProxyConfig(
                upstream=up.socket.getsockname()[:2],
                listen=("127.0.0.1", 0),
                connection_limits=limits,
            )
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            address = listening.address
            first = await served(address)
            second = await served(address)
            for _ in range(5):
                await refused(address)  # a third from 127.0.0.1
            third = await served(address, source="127.0.0.2")
            for _ in range(5):
                await refused(address, source="127.0.0.3")  # a fourth in all
            await first.aclose()
            await trio.testing.wait_all_tasks_blocked()
            fourth = await served(address)  # room again: accepted by itself
            await refused(address)
            for stream in (second, third, fourth):
                await stream.aclose()
            nursery.cancel_scope.cancel()
    per_address = warnings_matching(caplog, "per-address limit")
    assert per_address == [
        "msproxy: 127.0.0.1 has 2 connections open, the per-address limit: "
        "its new connections are closed at once"
    ]
    total = warnings_matching(caplog, "connections open, the limit")
    assert total == ["msproxy: 3 connections open, the limit: new connections are closed at once"]


async def test_reference_server_caps_http_and_msnp_together() -> None:
    """Two connections at most, all roles together: a third (HTTP) is closed at once."""
    config = ServerConfig(connection_limits=ConnectionLimits(total=2, per_address=0))
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            addrs: ServerAddresses = await nursery.start(serve_reference, config)
            ds = await trio.open_tcp_stream(*addrs.ds)
            await ds.send_all(VER)
            assert (await ds.receive_some(100)).startswith(b"VER 1 MSNP8")
            http = await trio.open_tcp_stream(*addrs.http)  # half-open: never finished
            await trio.testing.wait_all_tasks_blocked()
            async with await trio.open_tcp_stream(*addrs.ns) as extra:
                assert await extra.receive_some(100) == b""
            async with await trio.open_tcp_stream(*addrs.http) as extra:
                assert await extra.receive_some(100) == b""
            await http.aclose()
            await trio.testing.wait_all_tasks_blocked()
            async with await trio.open_tcp_stream(*addrs.ds) as again:
                await again.send_all(VER)
                assert (await again.receive_some(100)).startswith(b"VER 1 MSNP8")
            await ds.aclose()
            nursery.cancel_scope.cancel()


class ExhaustedListener(trio.abc.Listener[Any]):
    """Fails ``failures`` accepts with EMFILE, then hands out one memory stream."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        self.client, self.server = trio.testing.memory_stream_pair()

    async def accept(self) -> Any:
        await trio.lowlevel.checkpoint()
        self.attempts += 1
        if self.attempts <= self.failures:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        if self.attempts == self.failures + 1:
            return self.server
        await trio.sleep_forever()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def test_out_of_descriptors_logs_once_and_resumes(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serving, "ACCEPT_PAUSE", 0.001)
    caplog.set_level(logging.WARNING)
    listener = ExhaustedListener(failures=200)
    handled = trio.Event()

    async def handler(stream: trio.abc.Stream) -> None:
        handled.set()

    gate = ConnectionGate(ConnectionLimits(log_every=60.0), name="test")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(serve_limited, handler, [listener], gate=gate))
            await handled.wait()
            nursery.cancel_scope.cancel()
    assert listener.attempts == 202  # 200 failures, one connection, one more waiting
    assert gate.exhausted.occurred == 200
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "test: cannot accept connections: Too many open files; retrying every 0.001 s "
        "(0 connections open; raise `ulimit -n` or lower the connection limit)"
    ]
    assert gate.open == 0  # the handled connection was released


def test_throttled_says_how_many_were_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="msmgr.serving")
    clock = trio.testing.MockClock()

    async def main() -> None:
        throttled = serving.Throttled(10.0)
        for _ in range(4):
            throttled.note("full")
        clock.jump(10.0)
        throttled.note("full")
        throttled.note("full")

    trio.run(main, clock=clock)
    assert [r.getMessage() for r in caplog.records] == [
        "full",
        "full (3 more since the last such line)",
    ]


CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
from msproxy.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


async def test_real_descriptor_exhaustion_pauses_accepting_then_resumes(tmp_path: Path) -> None:
    """``msproxy run`` with 48 descriptors, no connection cap (else the cap, fitted to
    the descriptors, would refuse them first) and 80 idle clients: one line about the
    descriptors (not one per 0.1 s), and once they go, a new client is relayed."""
    errors = tmp_path / "stderr.txt"
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            (up,) = await nursery.start(partial(trio.serve_tcp, echo, 0, host="127.0.0.1"))
            argv = [sys.executable, "-c", CHILD, "run", "-q", "--listen", "127.0.0.1:0"]
            argv += ["--upstream", f"127.0.0.1:{up.socket.getsockname()[1]}"]
            argv += ["--capture", str(tmp_path / "c.jsonl"), "--max-connections", "0"]
            async with msproxy_process(argv, errors) as (proc, address):
                idle = [await trio.open_tcp_stream(*address) for _ in range(80)]
                await trio.sleep(1.0)  # ten retries' worth
                for stream in idle:
                    await stream.aclose()
                await trio.sleep(0.3)  # the backlog drains; those close at once
                again = await served(address)
                await again.aclose()
                proc.send_signal(2)
                assert await proc.wait() == 0, errors.read_text()
            nursery.cancel_scope.cancel()
    text = errors.read_text()
    assert text.count("cannot accept connections: Too many open files") == 1, text
    assert "Traceback" not in text


def test_caps_are_fitted_to_the_descriptor_limit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="msmgr.serving")
    limits = ConnectionLimits(total=1000, per_address=200)
    fitted = serving.fit_to_descriptors(limits, per_connection=2, reserve=128, available=1024)
    assert (fitted.total, fitted.per_address) == (448, 200)
    assert [r.getMessage() for r in caplog.records] == [
        "the open-files limit (1024 descriptors) holds about 448 connections: the "
        "connection limit is lowered from 1000 to 448"
    ]
    roomy = serving.fit_to_descriptors(limits, per_connection=2, reserve=128, available=20000)
    assert roomy is limits
    uncapped = ConnectionLimits(total=0)
    assert serving.fit_to_descriptors(uncapped, per_connection=2, reserve=128, available=64) is (
        uncapped
    )
    assert len(caplog.records) == 1
    caplog.clear()
    default = serving.fit_to_descriptors(
        ConnectionLimits(), per_connection=2, reserve=128, available=1024, asked=False
    )
    assert default.total == 448
    assert caplog.records == []  # the default cap is fitted quietly (INFO)


def test_soft_descriptor_limit_is_raised_to_the_hard_one() -> None:
    """In a child process (the limit is process-wide): soft 256 becomes the hard limit."""
    child = (
        "import resource\n"
        "from msmgr.serving import raise_open_files_limit\n"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "raised = raise_open_files_limit()\n"
        "print(raised, resource.getrlimit(resource.RLIMIT_NOFILE), hard)\n"
        "print(raise_open_files_limit())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True
    )
    first, second = result.stdout.splitlines()
    hard = first.rsplit(" ", 1)[1]
    if hard == "256":
        pytest.skip("the hard open-files limit is 256 here: nothing to raise")
    assert first == f"(256, {hard}) ({hard}, {hard}) {hard}"
    assert second == "None"  # already at the hard limit
