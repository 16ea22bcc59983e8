"""msproxy/proxy/sockio: fewer scheduler passes, the stream's own results."""

from __future__ import annotations

import os
import socket

import pytest
import trio
import trio.testing

from msproxy.proxy import sockio
from msproxy.proxy.sockio import receive_some, send_all


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


async def test_a_small_chunk_the_kernel_has_no_room_for_waits_and_goes_in_order() -> None:
    left, right = await pair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    filled = bytearray()
    while True:  # fill the socket's buffers
        try:
            filled += b"x" * os.write(left.socket.fileno(), b"x" * 1000)
        except BlockingIOError:
            break
    async with left, right, trio.open_nursery() as nursery:
        nursery.start_soon(send_all, left, b"PNG\r\n")
        await trio.testing.wait_all_tasks_blocked()
        assert left in sockio._waiting  # waiting for room, through SocketStream.send_all
        assert await read_exactly(right, len(filled) + 5) == filled + b"PNG\r\n"
    assert not sockio._waiting


async def test_a_big_chunk_goes_through_send_all_in_order() -> None:
    left, right = await pair()
    big = bytes(range(256)) * 8192  # 2 MiB: more than the socket buffers hold
    async with left, right, trio.open_nursery() as nursery:
        got: list[bytes] = []

        async def reader() -> None:
            got.append(await read_exactly(right, len(big) + 5))

        nursery.start_soon(reader)
        await send_all(left, big)
        await send_all(left, b"PNG\r\n")
    assert got == [big + b"PNG\r\n"]


async def test_a_send_waiting_for_room_keeps_later_sends_behind_it() -> None:
    left, right = await pair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = b"x" * (1 << 21)
    async with left, right, trio.open_nursery() as nursery:
        nursery.start_soon(send_all, left, big)
        await trio.testing.wait_all_tasks_blocked()
        assert left in sockio._waiting
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


async def test_a_read_waits_for_bytes_then_returns_them_at_the_end_b() -> None:
    left, right = await pair()
    async with left, right, trio.open_nursery() as nursery:
        got: list[bytes | bytearray] = []

        async def reader() -> None:
            got.append(await receive_some(right, 1000))
            got.append(await receive_some(right, 1000))

        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []  # waiting: nothing was there
        await left.send_all(b"PNG\r\n")
        await trio.testing.wait_all_tasks_blocked()
        assert got == [b"PNG\r\n"]
        await left.send_eof()
    assert got == [b"PNG\r\n", b""]


async def test_a_read_checkpoints_and_says_what_receive_some_says() -> None:
    left, right = await pair()
    await left.send_all(b"PNG\r\n")
    with trio.CancelScope() as scope:
        scope.cancel()
        await receive_some(right, 1000)  # raises Cancelled: bytes there or not
    assert scope.cancelled_caught
    assert await receive_some(right, 1000) == b"PNG\r\n"  # not taken by the cancelled read
    await right.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await receive_some(right, 1000)
    await left.aclose()
    memory_left, memory_right = trio.testing.memory_stream_pair()
    await memory_left.send_all(b"QNG 50\r\n")
    assert await receive_some(memory_right, 1000) == b"QNG 50\r\n"


async def test_a_read_on_a_connection_the_peer_reset_is_broken() -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    async with listener:
        port = listener.socket.getsockname()[1]
        client = await trio.open_tcp_stream("127.0.0.1", port)
        server = await listener.accept()
        assert isinstance(server, trio.SocketStream)
        # a close with unread data sends a reset
        await server.send_all(b"PNG\r\n")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, bytes([1, 0, 0, 0, 0, 0, 0, 0]))
        await client.aclose()
        await trio.sleep(0.01)  # the reset arrives
        with pytest.raises(trio.BrokenResourceError, match="reset"):  # not a plain end
            await receive_some(server, 1000)
        await server.aclose()
