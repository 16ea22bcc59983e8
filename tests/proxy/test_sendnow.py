"""msproxy/proxy/sendnow: forwarding without a scheduler pass, with send_all's results."""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing

from msproxy.proxy import sendnow
from msproxy.proxy.sendnow import send_all


async def pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    """Two connected socket streams (a Unix socket pair)."""
    a, b = socket.socketpair()
    return trio.SocketStream(trio.socket.from_stdlib_socket(a)), trio.SocketStream(
        trio.socket.from_stdlib_socket(b)
    )


async def read_exactly(stream: trio.SocketStream, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        data = await stream.receive_some(size - len(got))
        assert data, "closed early"
        got += data
    return bytes(got)


async def test_a_chunk_the_kernel_takes_is_sent_without_a_checkpoint() -> None:
    left, right = await pair()
    async with left, right:
        with trio.CancelScope() as scope:
            scope.cancel()  # a checkpoint would raise Cancelled before sending
            await send_all(left, b"PNG\r\n")
        assert not scope.cancelled_caught
        assert await right.receive_some(100) == b"PNG\r\n"


async def test_the_kernel_taking_part_of_a_chunk_sends_the_rest_in_order() -> None:
    left, right = await pair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = bytes(range(256)) * 8192  # 2 MiB: more than the socket buffers hold
    async with left, right, trio.open_nursery() as nursery:
        got: list[bytes] = []

        async def reader() -> None:
            got.append(await read_exactly(right, len(big) + 5))

        nursery.start_soon(reader)
        await send_all(left, big)
        assert not sendnow._waiting  # the stream's wait is over
        await send_all(left, b"PNG\r\n")
    assert got == [big + b"PNG\r\n"]


async def test_a_send_waiting_for_room_keeps_later_sends_behind_it() -> None:
    left, right = await pair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = b"x" * (1 << 21)
    async with left, right, trio.open_nursery() as nursery:
        nursery.start_soon(send_all, left, big)
        await trio.testing.wait_all_tasks_blocked()
        assert left in sendnow._waiting
        with pytest.raises(trio.BusyResourceError):  # as send_all says: never interleaved
            await send_all(left, b"PNG\r\n")
        assert await read_exactly(right, len(big)) == big


async def test_errors_are_send_alls() -> None:
    left, right = await pair()
    await left.send_eof()
    with pytest.raises(trio.ClosedResourceError):
        await send_all(left, b"PNG\r\n")
    await right.aclose()
    other, peer = await pair()
    await peer.aclose()
    with pytest.raises(trio.BrokenResourceError):
        await send_all(other, b"PNG\r\n")
    await other.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await send_all(other, b"PNG\r\n")
    await left.aclose()


async def test_other_streams_use_their_own_send_all() -> None:
    left, right = trio.testing.memory_stream_pair()
    await send_all(left, b"PNG\r\n")
    assert await right.receive_some(100) == b"PNG\r\n"
