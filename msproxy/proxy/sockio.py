"""msproxy/proxy/sockio: the relay's reads and forwards on socket streams, without the
extra passes through trio's scheduler that ``SocketStream`` makes for each chunk.

``trio.SocketStream.send_all`` yields to the scheduler once after a send that succeeded
(a scheduler pass and an ``epoll_wait`` per forwarded chunk, even when the socket took
every byte); ``receive_some`` first tries the read, which on a connection that sends
one command at a time fails (``EAGAIN``, an exception) before it waits for the socket.
Here a forward first writes to the socket's descriptor (non-blocking): only what that
did not send, or any error, goes through ``stream.send_all``, which then waits, raises
the stream error it would have raised, and checkpoints. A read waits for the socket to
be readable (the read loop's checkpoint), then reads; anything else (an error, nothing
there after all, a stream other than a socket stream) goes through
``stream.receive_some``, as before.
"""

from __future__ import annotations

import errno
import os
import weakref

import trio

_waiting: weakref.WeakSet[trio.SocketStream] = weakref.WeakSet()
"""Streams with a ``send_all`` under way that waits for room: nothing may be written
past it (bytes would interleave); their sends go through ``send_all`` and its checks."""


async def send_all(stream: trio.abc.SendStream, data: bytes | bytearray | memoryview) -> None:
    """Send all of ``data`` on ``stream``, as ``stream.send_all`` does (same errors);
    no checkpoint when the socket takes it all at once."""
    if type(stream) is not trio.SocketStream or not data or stream in _waiting:
        await stream.send_all(data)
        return
    sock = stream.socket
    if sock.did_shutdown_SHUT_WR:
        await stream.send_all(data)  # (raises ClosedResourceError)
        return
    try:
        sent = os.write(sock.fileno(), data)
    except BlockingIOError:  # full: send_all waits for room
        sent = 0
    except OSError as exc:
        sent = _broken(exc)  # (closed: send_all says so)
    if sent == len(data):
        return
    _waiting.add(stream)
    try:
        await stream.send_all(memoryview(data)[sent:] if sent else data)
    finally:
        _waiting.discard(stream)


async def receive_some(stream: trio.abc.ReceiveStream, size: int) -> bytes | bytearray:
    """Up to ``size`` bytes from ``stream`` once there are some (b"" at its end), as
    ``stream.receive_some`` does (same errors; a checkpoint)."""
    if type(stream) is trio.SocketStream:
        sock = stream.socket
        fd = sock.fileno()
        if fd != -1:
            await trio.lowlevel.wait_readable(fd)
            try:
                return os.read(fd, size)
            except BlockingIOError:  # nothing there after all: receive_some waits
                pass
            except OSError as exc:
                _broken(exc)  # (closed: receive_some says so)
    return await stream.receive_some(size)


_CLOSED = frozenset({errno.EBADF, errno.ENOTSOCK})
"""What a descriptor closed meanwhile gives: the stream's own call says so."""


def _broken(exc: OSError) -> int:
    """Raise the stream error ``SocketStream`` raises for ``exc`` (the socket's error is
    consumed by the call that got it: a second call would not see it), except for a
    closed socket (0: nothing sent; the stream's call raises ``ClosedResourceError``)."""
    if exc.errno in _CLOSED:
        return 0
    raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc
