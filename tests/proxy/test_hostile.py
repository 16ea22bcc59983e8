"""Hostile input and faults: floods, peers that never read, closes mid-payload, one bad
client among good ones, and the real reference server behind the proxy."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import trio
import trio.testing

from msmgr.codec import Command, Limits
from msmgr.server import ServerAddresses, ServerConfig, serve_reference
from msmgr.stream import CommandStream, Role
from msproxy.capture import read_capture
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import Proxy, ProxyListening, serve_proxy
from msproxy.proxy.sink import CaptureSink
from tests.server.helpers import ScriptedClient, online


async def echo_upstream(received: list[bytes], stream: trio.SocketStream) -> None:
    """Answers VER, echoes nothing else; keeps every byte it receives."""
    data = bytearray()
    async with stream:
        try:
            async for chunk in stream:
                data += chunk
                if b"VER 1" in chunk:
                    await stream.send_all(b"VER 1 MSNP8\r\n")
        except trio.BrokenResourceError:
            pass
    received.append(bytes(data))


async def start_echo_proxy(
    nursery: trio.Nursery, received: list[bytes], capture: Path, *, limits: Limits | None = None
) -> ProxyListening:
    """An ``echo_upstream`` on a free port and a proxy in front of it, in ``nursery``."""
    (up,) = await nursery.start(
        partial(trio.serve_tcp, partial(echo_upstream, received), 0, host="127.0.0.1")
    )
    config = ProxyConfig(
        upstream=up.socket.getsockname()[:2],
        listen=("127.0.0.1", 0),
        capture=capture,
        limits=limits if limits is not None else Limits(),
    )
    listening: ProxyListening = await nursery.start(serve_proxy, config)
    return listening


async def test_flood_without_line_end_closes_only_that_client(tmp_path: Path) -> None:
    received: list[bytes] = []
    capture = tmp_path / "c.jsonl"
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listening = await start_echo_proxy(
                nursery, received, capture, limits=Limits(max_line=1024, max_payload=4096)
            )
            good = CommandStream(await trio.open_tcp_stream(*listening.address), Role.CLIENT)
            await good.send(Command("VER", 1, ("MSNP8",)))
            assert (await good.receive()).verb == "VER"
            bad = await trio.open_tcp_stream(*listening.address)
            await bad.send_all(b"VER 1 MSNP8\r\n")
            assert await bad.receive_some(100) == b"VER 1 MSNP8\r\n"
            try:
                for _ in range(100):
                    await bad.send_all(b"A" * 1000)
            except trio.BrokenResourceError:
                pass
            # The proxy closes it and sends nothing more (a reset when the flood is unread).
            try:
                rest = await bad.receive_some(100)
            except trio.BrokenResourceError:
                rest = b""
            assert rest == b""
            # The good client is untouched.
            await good.send(Command("PNG"))
            await good.send(Command("OUT"))
            await good.aclose()
            await bad.aclose()
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    records = list(read_capture(capture))
    errors = [r for r in records if r["type"] == "error"]
    assert [e["kind"] for e in errors] == ["limit"]
    closes = {r["conn"]: r for r in records if r["type"] == "close"}
    assert closes[errors[0]["conn"]]["by"] == "proxy"
    assert "limit exceeded" in closes[errors[0]["conn"]]["reason"]
    assert b"VER 1 MSNP8\r\nPNG\r\nOUT\r\n" in received


async def test_peer_that_never_reads_stops_the_proxy_reading() -> None:
    """Backpressure: with lock-step streams, the proxy reads at most one chunk ahead."""
    client_end, proxy_client_end = trio.testing.lockstep_stream_pair()
    proxy_up_end, upstream_end = trio.testing.lockstep_stream_pair()

    async def connect(host: str, port: int) -> trio.abc.Stream:
        return proxy_up_end

    config = ProxyConfig(upstream=("upstream.invalid", 1863), connect=connect)
    proxy = Proxy(config, CaptureSink(None), port=1863)
    sent = 0
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(proxy.handle_client, proxy_client_end)

            async def flood() -> None:
                nonlocal sent
                while True:
                    await client_end.send_all(b"PNG\r\n" * 1000)
                    sent += 1

            nursery.start_soon(flood)
            await trio.testing.wait_all_tasks_blocked()
            # The upstream never reads: the proxy holds one chunk and stops reading.
            assert sent <= 2
            got = await upstream_end.receive_some(1 << 20)
            assert got.startswith(b"PNG\r\n")
            nursery.cancel_scope.cancel()


async def test_close_in_the_middle_of_a_payload(tmp_path: Path) -> None:
    received: list[bytes] = []
    capture = tmp_path / "c.jsonl"
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listening = await start_echo_proxy(nursery, received, capture)
            client = await trio.open_tcp_stream(*listening.address)
            data = b"VER 1 MSNP8\r\nMSG 2 N 100\r\nonly part"
            await client.send_all(data)
            assert await client.receive_some(100) == b"VER 1 MSNP8\r\n"
            await client.aclose()
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    assert received == [data]
    records = list(read_capture(capture))
    raw = [r for r in records if r["type"] == "raw"]
    assert raw[0]["data"] == "MSG 2 N 100\r\nonly part"
    assert records[-1]["type"] == "close"


async def test_through_the_reference_server(tmp_path: Path) -> None:
    """MSNP7 login and a switchboard, the real reference server behind the proxy."""
    capture = tmp_path / "c.jsonl"
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            real: ServerAddresses = await nursery.start(
                partial(serve_reference, ServerConfig(host="127.0.0.1"))
            )
            config = ProxyConfig(upstream=real.ds, listen=("127.0.0.1", 0), capture=capture)
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            via = ServerAddresses(ds=listening.address, ns=real.ns, sb=real.sb, http=real.http)
            ns, _ = await online(via, "alice@example.com", 7)
            trid = await ns.send("XFR", "SB")
            xfr = await ns.expect("XFR", trid)
            assert xfr.args[1] == listening.url
            host, _, port = xfr.args[1].rpartition(":")
            sb = await ScriptedClient.connect((host, int(port)))
            trid = await sb.send("USR", "alice@example.com", xfr.args[3])
            assert (await sb.expect("USR", trid)).args[0] == "OK"
            await sb.aclose()
            await ns.aclose()
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    records = list(read_capture(capture))
    roles = [r["role"] for r in records if r["type"] == "open"]
    assert roles == ["DS", "NS", "SB"]
    text = capture.read_text()
    assert "alice-password" not in text
    usr = [r for r in records if r["type"] == "cmd" and r["cmd"] == "USR" and r["dir"] == "c2s"]
    assert any(r.get("redacted") for r in usr)
