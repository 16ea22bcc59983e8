"""A scripted upstream and client for the fault tests, over 127.0.0.1 (port 0)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trio

from msproxy.capture import Record, read_capture
from msproxy.faults import parse_rule
from msproxy.proxy.config import Connect, ProxyConfig, open_tcp
from msproxy.proxy.server import serve_proxy

VER = b"VER 1 MSNP8 CVR0\r\n"
VER_REPLY = b"VER 1 MSNP8\r\n"
Script = Sequence[tuple[bytes, bytes]]
"""(wait until the bytes received hold this, then send that), in order."""


@dataclass
class Peer:
    """What one end saw: every byte received, and whether its peer closed."""

    received: bytearray = field(default_factory=bytearray)
    eof: bool = False

    async def play(self, stream: trio.abc.Stream, script: Script, *, close: bool) -> None:
        """Play ``script``, then read to the end (after closing, with ``close``)."""
        for marker, reply in script:
            while marker not in self.received:
                if not await self._read(stream):
                    return
            await stream.send_all(reply)
        if close:
            await stream.send_eof()  # type: ignore[attr-defined]  # (a SocketStream)
        while await self._read(stream):
            pass

    async def _read(self, stream: trio.abc.Stream) -> bool:
        try:
            data = await stream.receive_some()
        except trio.BrokenResourceError:
            data = b""
        self.received += data
        self.eof = not data
        return bool(data)


@dataclass
class Outcome:
    """What a scripted session through the proxy gave."""

    client: Peer
    server: Peer
    records: list[Record]
    elapsed: float  # seconds from the client's first send to the end of its reads

    def of(self, kind: str) -> list[Record]:
        return [record for record in self.records if record["type"] == kind]


async def through_proxy(
    tmp_path: Path,
    rules: Sequence[str],
    *,
    server: Script,
    client: Script = (),
    server_closes: bool = True,
    connect: Connect = open_tcp,
) -> Outcome:
    """A client that sends ``VER``, then plays ``client``, to a server that plays
    ``server``, through a proxy with ``rules``; both read to the end."""
    capture = tmp_path / "faults.jsonl"
    upstream, downstream = Peer(), Peer()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            handler = partial(_serve, upstream, server, server_closes)
            (listener,) = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
            config = ProxyConfig(
                upstream=("127.0.0.1", listener.socket.getsockname()[1]),
                listen=("127.0.0.1", 0),
                capture=capture,
                faults=tuple(parse_rule(rule) for rule in rules),
                connect=connect,
            )
            listening = await nursery.start(serve_proxy, config)
            stream = await trio.open_tcp_stream(*listening.address)
            start = trio.current_time()
            async with stream:
                await stream.send_all(VER)
                await downstream.play(stream, client, close=False)
            elapsed = trio.current_time() - start
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    return Outcome(downstream, upstream, list(read_capture(capture)), elapsed)


async def _serve(peer: Peer, script: Script, close: bool, stream: trio.SocketStream) -> None:
    async with stream:
        await peer.play(stream, script, close=close)
