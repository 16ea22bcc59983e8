"""The proxy refuses, at start, an upstream that is its own listening address."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import trio

from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import UpstreamLoopError, check_not_itself, serve_proxy


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FakeSocket:
    """Only what ``check_not_itself`` asks of a listener's socket."""

    name: tuple[str, int]

    def getsockname(self) -> tuple[str, int]:
        return self.name


@dataclass
class FakeListener:
    """A listener bound to ``name`` without binding it (a wildcard stays off the network)."""

    name: tuple[str, int]

    @property
    def socket(self) -> FakeSocket:
        return FakeSocket(self.name)


def listening_on(host: str, port: int) -> list[trio.SocketListener]:
    return [cast(Any, FakeListener((host, port)))]


async def test_serve_proxy_refuses_its_own_address(tmp_path: Path) -> None:
    port = free_port()
    capture = tmp_path / "c.jsonl"
    config = ProxyConfig(upstream=("127.0.0.1", port), listen=("127.0.0.1", port), capture=capture)
    with trio.fail_after(10), pytest.raises(UpstreamLoopError) as caught:
        await serve_proxy(config)
    assert str(caught.value) == (
        f"the upstream 127.0.0.1:{port} is this proxy's own listening address "
        f"127.0.0.1:{port}: every connection would loop back into the proxy "
        "(name the real server)"
    )
    assert not capture.exists()  # refused before the capture is created
    with socket.socket() as sock:  # and the listener is closed again
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("listen", "upstream"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "localhost"),  # a name resolving to it
        ("127.0.0.1", "0.0.0.0"),  # connecting to the wildcard reaches this machine
        ("0.0.0.0", "127.0.0.1"),  # a wildcard listener: every local address is it
        ("0.0.0.0", "127.0.0.5"),
        ("0.0.0.0", "localhost"),
        ("::1", "::1"),
        ("::", "::1"),
    ],
)
async def test_loops_refused(listen: str, upstream: str) -> None:
    with pytest.raises(UpstreamLoopError, match="loop back into the proxy"):
        await check_not_itself((upstream, 4321), listening_on(listen, 4321))


@pytest.mark.parametrize(
    ("listen", "upstream"),
    [
        (("127.0.0.1", 4321), ("127.0.0.1", 4322)),  # another port
        (("127.0.0.1", 4321), ("127.0.0.2", 4321)),  # another loopback address
        (("127.0.0.1", 4321), ("192.0.2.1", 4321)),  # another machine (TEST-NET, not local)
        (("0.0.0.0", 4321), ("192.0.2.1", 4321)),
        (("::", 4321), ("127.0.0.1", 4321)),  # an IPv6-only listener, an IPv4 upstream
        (("127.0.0.1", 4321), ("name.invalid", 4321)),  # unresolvable: left to connections
    ],
)
async def test_other_upstreams_accepted(listen: tuple[str, int], upstream: tuple[str, int]) -> None:
    await check_not_itself(upstream, listening_on(*listen))
