"""The trio driver of one connection, over memory streams: a forward that fails still
leaves every command in the capture; a client that never sends a command is closed."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from msproxy.capture import CaptureWriter, Record, read_capture, rebuild
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import Proxy
from msproxy.proxy.sink import CaptureSink


class ResetClient(trio.abc.Stream):
    """A client that sends ``data`` once, then nothing; every send to it fails."""

    def __init__(self, data: bytes) -> None:
        self._data = [data]

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._data:
            return self._data.pop()
        await trio.sleep_forever()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        raise trio.BrokenResourceError("[Errno 32] Broken pipe")

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class StuckClient(ResetClient):
    """A client that sends ``data`` once and never reads: a send to it never finishes."""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.sleep_forever()


class OneSendUpstream(ResetClient):
    """An upstream that answers with ``data``, and whose connection breaks after the
    first chunk the proxy sends it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.got: list[bytes] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.got:
            await super().send_all(data)
        self.got.append(bytes(data))


def make_proxy(
    capture: Path, upstream: trio.abc.Stream | None = None, *, first_command_timeout: float = 60.0
) -> tuple[Proxy, CaptureWriter]:
    """A proxy whose capture clock is trio's (the mock clock in some tests)."""

    async def connect(host: str, port: int) -> trio.abc.Stream:
        assert upstream is not None, "this test's client must not be routed"
        return upstream

    config = ProxyConfig(
        upstream=("upstream.invalid", 1863),
        connect=connect,
        first_command_timeout=first_command_timeout,
        clock=trio.current_time,
    )
    writer = CaptureWriter(capture, tool="test", started=0.0)
    return Proxy(config, CaptureSink(writer), port=1863), writer


def finish(proxy: Proxy, writer: CaptureWriter, capture: Path) -> list[Record]:
    proxy.sink.flush()
    writer.close()
    return list(read_capture(capture))[1:]


def outline(records: list[Record]) -> list[tuple[str, str | None, str | None]]:
    """(type, dir, cmd) of each record."""
    return [(r["type"], r.get("dir"), r.get("cmd")) for r in records]


async def test_command_is_recorded_when_forwarding_it_fails(tmp_path: Path) -> None:
    """The server's reply is recorded although the client's connection is broken."""
    capture = tmp_path / "c.jsonl"
    proxy_up, server = trio.testing.memory_stream_pair()
    proxy, writer = make_proxy(capture, proxy_up)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(proxy.handle_client, ResetClient(b"VER 1 MSNP8 CVR0\r\n"))
            assert await server.receive_some() == b"VER 1 MSNP8 CVR0\r\n"
            await server.send_all(b"VER 1 MSNP8\r\nOUT\r\n")
    records = finish(proxy, writer, capture)
    assert outline(records) == [
        ("open", None, None),
        ("cmd", "c2s", "VER"),
        ("cmd", "s2c", "VER"),
        ("cmd", "s2c", "OUT"),
        ("close", None, None),
    ]
    assert records[-1]["by"] == "client"
    assert "Broken pipe" in records[-1]["reason"]


async def test_command_is_recorded_when_its_forward_is_cancelled(tmp_path: Path) -> None:
    """The proxy stops while a forward to the client is stuck: the server's commands in
    that chunk are recorded all the same, then the close."""
    capture = tmp_path / "c.jsonl"
    proxy_up, server = trio.testing.memory_stream_pair()
    proxy, writer = make_proxy(capture, proxy_up)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(proxy.handle_client, StuckClient(b"VER 1 MSNP8 CVR0\r\n"))
            assert await server.receive_some() == b"VER 1 MSNP8 CVR0\r\n"
            await server.send_all(b"VER 1 MSNP8\r\nCVR 2 6.0 6.0 6.0 x y\r\n")
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    records = finish(proxy, writer, capture)
    assert outline(records) == [
        ("open", None, None),
        ("cmd", "c2s", "VER"),
        ("cmd", "s2c", "VER"),
        ("cmd", "s2c", "CVR"),
        ("close", None, None),
    ]
    assert records[-1]["by"] == "proxy"


async def test_client_chunk_forwarded_before_framing_is_recorded_when_it_fails(
    tmp_path: Path,
) -> None:
    """Relaying, client chunks go out before they are framed; one whose forward fails
    is still framed and recorded, then the connection closes."""
    capture = tmp_path / "c.jsonl"
    upstream = OneSendUpstream(b"VER 1 MSNP8\r\n")
    proxy, writer = make_proxy(capture, upstream)
    client, proxy_client = trio.testing.memory_stream_pair()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(proxy.handle_client, proxy_client)
            await client.send_all(b"VER 1 MSNP8 CVR0\r\n")
            assert await client.receive_some() == b"VER 1 MSNP8\r\n"
            await client.send_all(b"PNG\r\nCHG 3 NLN 0\r\n")
            assert await client.receive_some() == b""
    assert upstream.got == [b"VER 1 MSNP8 CVR0\r\n"]
    records = finish(proxy, writer, capture)
    assert outline(records) == [
        ("open", None, None),
        ("cmd", "c2s", "VER"),
        ("cmd", "s2c", "VER"),
        ("cmd", "c2s", "PNG"),
        ("cmd", "c2s", "CHG"),
        ("close", None, None),
    ]
    assert records[-1]["by"] == "server"
    assert "send failed" in records[-1]["reason"]


async def test_open_record_has_the_accept_time_and_comes_first(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    capture = tmp_path / "c.jsonl"
    proxy_up, server = trio.testing.memory_stream_pair()
    proxy, writer = make_proxy(capture, proxy_up)
    client, proxy_client = trio.testing.memory_stream_pair()
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(proxy.handle_client, proxy_client)
            await trio.sleep(5)  # accepted well before the first command
            await client.send_all(b"VER 1 MSNP8 CVR0\r\n")
            assert await server.receive_some() == b"VER 1 MSNP8 CVR0\r\n"
            await server.send_all(b"VER 1 MSNP8\r\n")
            assert await client.receive_some() == b"VER 1 MSNP8\r\n"
            await server.aclose()  # the server ends first...
            assert await client.receive_some() == b""
            await trio.sleep(7)
            await client.aclose()  # ...the client some time later
    opened, *cmds, close = finish(proxy, writer, capture)
    assert opened["type"] == "open"
    assert [r["type"] for r in cmds] == ["cmd", "cmd"]
    assert cmds[0]["t"] - opened["t"] >= 5
    assert opened["ready"] >= cmds[0]["t"]
    assert all(opened["t"] < r["t"] for r in cmds)
    assert close["type"] == "close"
    assert close["by"] == "server"
    assert close["finished"] - close["t"] >= 7


@pytest.mark.parametrize("sent", [b"", b"VER 1 MS"])
async def test_silent_client_is_closed_after_the_first_command_timeout(
    tmp_path: Path, sent: bytes, autojump_clock: trio.testing.MockClock
) -> None:
    capture = tmp_path / "c.jsonl"
    proxy, writer = make_proxy(capture, first_command_timeout=30.0)
    client, proxy_client = trio.testing.memory_stream_pair()
    start = trio.current_time()
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(proxy.handle_client, proxy_client)
            if sent:
                await client.send_all(sent)
            assert await client.receive_some() == b""  # the proxy closed it
            ended = trio.current_time()
    assert 30.0 <= ended - start < 31.0
    records = finish(proxy, writer, capture)
    assert records[0]["type"] == "open"
    assert records[0]["role"] is None
    assert records[-1]["type"] == "close"
    assert records[-1]["by"] == "proxy"
    assert records[-1]["reason"] == "no command within 30 s"
    raw = [r for r in records if r["type"] == "raw"]
    assert [r["data"] for r in raw] == ([sent.decode()] if sent else [])
    assert proxy.active == 0


async def test_first_command_timeout_ends_once_routed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    capture = tmp_path / "c.jsonl"
    proxy_up, server = trio.testing.memory_stream_pair()
    proxy, writer = make_proxy(capture, proxy_up, first_command_timeout=30.0)
    client, proxy_client = trio.testing.memory_stream_pair()
    with trio.fail_after(1000):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(proxy.handle_client, proxy_client)
            await client.send_all(b"VER 1 MSNP8 CVR0\r\n")
            assert await server.receive_some() == b"VER 1 MSNP8 CVR0\r\n"
            await trio.sleep(300)  # idle, but routed: still open
            await client.send_all(b"PNG\r\n")
            assert await server.receive_some() == b"PNG\r\n"
            await client.aclose()
            assert await server.receive_some() == b""
            await server.aclose()
    records = finish(proxy, writer, capture)
    assert records[-1]["type"] == "close"
    assert records[-1]["by"] == "client"


async def test_non_utf8_command_is_relayed_and_captured(tmp_path: Path) -> None:
    capture = tmp_path / "c.jsonl"
    proxy_up, server = trio.testing.memory_stream_pair()
    proxy, writer = make_proxy(capture, proxy_up)
    client, proxy_client = trio.testing.memory_stream_pair()
    wire = b"VER 1 MSNP8 CVR0\r\nADD 2 AL a\xff@b.c N\xe9\r\n"
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(proxy.handle_client, proxy_client)
            nursery.start_soon(proxy.sink.run)
            await client.send_all(wire)
            got = b""
            while len(got) < len(wire):
                got += await server.receive_some()
            assert got == wire
            await client.aclose()
            await server.aclose()
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    records = finish(proxy, writer, capture)
    assert b"".join(rebuild(r) for r in records if r.get("dir") == "c2s") == wire
