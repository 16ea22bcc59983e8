"""msnp_server and msnp_proxy in this suite's own tests, synchronous and trio."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import trio

from msmgr.client import open_session
from msproxy.capture import Record
from msproxy.fixtures import MsnpProxy, MsnpServer

ACCOUNTS = {"dave@example.com": "dave-pw", "erin@example.com": "erin-pw"}
VER = b"VER 1 MSNP7 MSNP6 CVR0\r\n"


def commands(records: list[Record]) -> list[str]:
    """``c2s VER 1 MSNP7 ...`` for every ``cmd`` record."""
    return [f"{r['dir']} {r['cmd']} {r['trid']} {' '.join(r['args'])}" for r in records[1:]]


def ask_version(address: tuple[str, int]) -> bytes:
    """Send ``VER`` over a plain socket, as a program would, and read the answer."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(VER)
        answer = b""
        while not answer.endswith(b"\r\n"):
            chunk = sock.recv(100)
            assert chunk, "closed before answering"
            answer += chunk
        return answer


@pytest.mark.msnp_accounts(ACCOUNTS)
def test_sync_server_serves_the_marked_accounts(msnp_server: MsnpServer) -> None:
    assert dict(msnp_server.accounts) == ACCOUNTS
    assert msnp_server.nexus_url.startswith(f"http://{msnp_server.host}:")
    assert ask_version((msnp_server.host, msnp_server.port)) == b"VER 1 MSNP7\r\n"


def test_sync_proxy_records_what_happened_so_far(msnp_proxy: MsnpProxy) -> None:
    assert ask_version((msnp_proxy.host, msnp_proxy.port)) == b"VER 1 MSNP7\r\n"
    records = msnp_proxy.records()  # the answer has just come: flushed, not waited for
    assert records[0]["type"] == "header"
    assert commands([r for r in records if r["type"] in ("header", "cmd")]) == [
        "c2s VER 1 MSNP7 MSNP6 CVR0",
        "s2c VER 1 MSNP7",
    ]
    assert msnp_proxy.capture_path.is_file()


@pytest.fixture
def refusing_upstream(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    """A port bound but not listening (connections refused), marked as the test's
    ``msnp_upstream``; request it before ``msnp_proxy``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()[:2]
        request.applymarker(pytest.mark.msnp_upstream(f"{host}:{port}"))
        yield host, port


def test_sync_proxy_goes_to_the_marked_upstream(
    refusing_upstream: tuple[str, int], msnp_proxy: MsnpProxy
) -> None:
    assert msnp_proxy.upstream == refusing_upstream
    with socket.create_connection((msnp_proxy.host, msnp_proxy.port), timeout=5) as sock:
        sock.sendall(VER)
        assert sock.recv(100) == b""  # the proxy could not connect: it closes
    closes = [r for r in msnp_proxy.records() if r["type"] in ("close", "error")]
    assert closes


@pytest.mark.msnp_accounts(ACCOUNTS)
async def test_trio_proxy_in_front_of_the_server(
    msnp_proxy: MsnpProxy, msnp_server: MsnpServer
) -> None:
    assert msnp_proxy.upstream == (msnp_server.host, msnp_server.port)
    with trio.fail_after(10):
        async with open_session(
            "dave@example.com", "dave-pw", server=msnp_proxy.address, protocol=7
        ) as session:
            await session.set_state("NLN")
    await msnp_proxy.settle()
    seen = commands([r for r in msnp_proxy.records() if r["type"] in ("header", "cmd")])
    assert "c2s USR 3 MD5 I dave@example.com" in seen
    assert "c2s CHG 8 NLN" in seen
    assert "s2c CHG 8 NLN" in seen
    assert all(r["type"] != "run" for r in msnp_proxy.records())
