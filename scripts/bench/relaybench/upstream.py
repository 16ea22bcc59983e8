"""The upstream servers of the relay benchmark, each run in a helper process: the
``sink`` behind the relays under test, and the ``server`` that holds idle connections."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from functools import partial

import trio

from .procinfo import raise_nofile

Address = tuple[str, int]


async def sink_server(server_data: bytes, stream: trio.SocketStream) -> None:
    """Upstream: answers VER/PNG-style pings with one line, counts everything else, and
    sends ``server_data`` (then ``OUT``) when asked with ``SND``; answers ``OUT`` when the
    client's data ends with ``END`` (wherever a relay split its chunks)."""
    tail = b""
    async with stream:
        try:
            async for chunk in stream:
                if chunk.startswith(b"VER ") or chunk == b"PNG\r\n":
                    await stream.send_all(b"QNG 50\r\n")
                elif chunk == b"SND 2\r\n":
                    view = memoryview(server_data)
                    for i in range(0, len(view), 65536):
                        await stream.send_all(view[i : i + 65536])
                    await stream.send_all(b"OUT\r\n")
                else:
                    tail = (tail + chunk[-5:])[-5:]
                    if tail == b"END\r\n":
                        tail = b""
                        await stream.send_all(b"OUT\r\n")
        except trio.BrokenResourceError:
            pass


async def hold(stream: trio.SocketStream) -> None:
    """Upstream for the idle check: answers VER and holds the connection open."""
    async with stream:
        try:
            async for chunk in stream:
                if chunk.startswith(b"VER "):
                    await stream.send_all(b"VER 1 MSNP8\r\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


async def serve_until_stdin_ends(
    start: Callable[[trio.Nursery], Awaitable[Address]],
) -> None:
    """Child process body: start a server, print its port, run until stdin ends."""
    async with trio.open_nursery() as nursery:
        address = await start(nursery)
        print(address[1], flush=True)
        await trio.to_thread.run_sync(sys.stdin.read)
        nursery.cancel_scope.cancel()


async def start_tcp(
    handler: Callable[[trio.SocketStream], Awaitable[None]], nursery: trio.Nursery
) -> Address:
    """Serve ``handler`` on a free port of 127.0.0.1; return the address."""
    (listener,) = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    host, port = listener.socket.getsockname()[:2]
    return (host, port)


def helper_sink(server_data: bytes) -> None:
    """Child process: the sink behind the relays under test."""
    trio.run(serve_until_stdin_ends, partial(start_tcp, partial(sink_server, server_data)))


def helper_server() -> None:
    """Child process: the upstream of the idle check."""
    raise_nofile()
    trio.run(serve_until_stdin_ends, partial(start_tcp, hold))
