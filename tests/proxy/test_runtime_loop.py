"""A connection that loops back through the proxy at run time (an upstream name that
resolves to the proxy only later) is closed one step deep, with one log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio
import trio.testing

from msproxy.capture import read_capture
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.loops import LoopWatch
from msproxy.proxy.server import ProxyListening, serve_proxy

VER = b"VER 1 MSNP8 CVR0\r\n"


async def test_a_looping_connection_is_closed_one_step_deep(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    capture = tmp_path / "c.jsonl"
    own: list[tuple[str, int]] = []

    async def to_myself(host: str, port: int) -> trio.abc.Stream:
        """Wherever asked, connect to the proxy itself (a name now resolving to it)."""
        return await trio.open_tcp_stream(*own[0])

    clients = 10
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            config = ProxyConfig(
                upstream=("msn.example", 1863),
                listen=("127.0.0.1", 0),
                capture=capture,
                connect=to_myself,
            )
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            own.append(listening.address)
            for _ in range(clients):
                async with await trio.open_tcp_stream(*listening.address) as client:
                    await client.send_all(VER)
                    assert await client.receive_some(100) == b""
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    records = list(read_capture(capture))[1:]
    opens = [r for r in records if r["type"] == "open"]
    assert len(opens) == 2 * clients  # each client's connection and its loop, no more
    closes = {r["conn"]: r for r in records if r["type"] == "close"}
    looped = [c for c in closes.values() if c["reason"].startswith("loop: ")]
    assert len(looped) == clients
    for close in looped:
        origin = close["conn"] - 1
        assert close["by"] == "proxy"
        assert f"the proxy's own upstream connection #{origin} " in close["reason"]
        assert closes[origin]["by"] == "server"  # its upstream (the loop) went away
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "#2 is the proxy's own connection #1 to msn.example:1863, come back: the upstream "
        "leads back into this proxy (name the real server); closing such connections "
        "before they connect anywhere"
    ]


class FakeSocket:
    def __init__(self, local: tuple[str, int], remote: tuple[str, int]) -> None:
        self.local, self.remote = local, remote

    def getsockname(self) -> tuple[str, int]:
        return self.local

    def getpeername(self) -> tuple[str, int]:
        return self.remote


class FakeStream:
    def __init__(self, local: tuple[str, int], remote: tuple[str, int]) -> None:
        self.socket = FakeSocket(local, remote)


async def test_a_reused_source_port_is_not_a_loop() -> None:
    """The system may give the same source port to connections to different places: only
    both ends together say a client connection is one of ours come back."""
    watch = LoopWatch()
    proxy, server, source = ("127.0.0.1", 1863), ("127.0.0.1", 1864), ("127.0.0.1", 40000)
    ends = watch.opened(1, "127.0.0.1:1864", FakeStream(source, server))
    # a client from the same address and port, to the proxy's listener: another connection
    assert watch.check(2, FakeStream(proxy, source)) is None
    # our own connection to the listener, come back: both ends match
    watch.opened(3, "127.0.0.1:1863", FakeStream(("127.0.0.1", 40001), proxy))
    reason = watch.check(4, FakeStream(proxy, ("127.0.0.1", 40001)))
    assert reason is not None
    assert reason.startswith("loop: this connection is the proxy's own upstream connection #3 ")
    watch.closed(ends)
    assert watch.check(5, FakeStream(server, source)) is None
