"""msproxy/proxy/sockio: the relay's reads and forwards on socket streams, without the
extra passes through trio's scheduler that ``SocketStream`` makes for each chunk.

``trio.SocketStream.send_all`` yields to the scheduler once after a send that succeeded
(a scheduler pass and an ``epoll_wait`` per forwarded chunk, even when the socket took
every byte); ``receive_some`` first tries the read, which on a connection that sends
one command at a time fails (``EAGAIN``, an exception) before it waits for the socket.
Here a small chunk (``SMALL``) is forwarded by writing to the socket's descriptor
(non-blocking): only what that did not send, or any error, goes through
``stream.send_all``, which then waits, raises the stream error it would have raised,
and checkpoints. After a small read, the next read waits for the socket to be readable
(the read loop's checkpoint), then reads. Anything else (big chunks, a stream other than
a socket stream, nothing there after all) goes through ``SocketStream`` as before.
"""

from __future__ import annotations

import errno
import os
import weakref

import trio

SMALL = 4096
"""Bytes below which a chunk is small: a connection sending a little at a time. Such a
chunk is forwarded without a checkpoint, and after reading one the next read waits for
the socket first (it would find nothing). Bigger chunks (a busy connection) go through
``SocketStream`` as they did, where a read usually finds more at once: a busy
connection's path is not changed (docs/performance.md).
"""

_waiting: weakref.WeakSet[trio.SocketStream] = weakref.WeakSet()
"""Socket streams with a ``send_all`` under way: nothing may be written past it (bytes
would interleave); their sends go through ``send_all`` and its checks."""


async def send_all(stream: trio.abc.SendStream, data: bytes | bytearray | memoryview) -> None:
    """Send all of ``data`` on ``stream``, as ``stream.send_all`` does (same errors);
    no checkpoint when it is small and the socket takes it all at once."""
    if type(stream) is not trio.SocketStream or stream in _waiting:
        await stream.send_all(data)  # (another send under way: BusyResourceError)
        return
    sent = 0
    if 0 < len(data) < SMALL and not stream.socket.did_shutdown_SHUT_WR:
        try:
            sent = os.write(stream.socket.fileno(), data)
        except BlockingIOError:  # full: send_all waits for room
            pass
        except OSError as exc:
            _broken(exc)  # (closed: send_all says so)
        if sent == len(data):
            return
    _waiting.add(stream)
    try:
        await stream.send_all(memoryview(data)[sent:] if sent else data)
    finally:
        _waiting.discard(stream)


async def receive_some(
    stream: trio.abc.ReceiveStream, size: int, *, last: int = 0
) -> bytes | bytearray:
    """Up to ``size`` bytes from ``stream`` once there are some (b"" at its end), as
    ``stream.receive_some`` does (same errors; a checkpoint); ``last``: how many bytes
    the read before got (``SMALL``)."""
    if type(stream) is trio.SocketStream and last < SMALL:
        fd = stream.socket.fileno()
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


def _broken(exc: OSError) -> None:
    """Raise the stream error ``SocketStream`` raises for ``exc`` (the socket's error is
    consumed by the call that got it: a second call would not see it), except for a
    closed socket (the stream's own call then raises ``ClosedResourceError``)."""
    if exc.errno not in _CLOSED:
        raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc
