"""msproxy/proxy/sendnow: forward bytes on a socket stream without a pass through trio's
scheduler when the kernel takes them all at once.

``trio.SocketStream.send_all`` always yields to the scheduler once (a checkpoint after a
send that succeeded), so each forwarded chunk costs a scheduler pass and an extra
``epoll_wait`` even when the socket took every byte. ``send_all`` here first writes to
the socket's descriptor directly (it is non-blocking); only what that did not send, or
any error, goes through ``stream.send_all``, which then waits, raises the stream error
it would have raised, and checkpoints as before. The read loop that calls this still
checkpoints on every read.
"""

from __future__ import annotations

import os
import weakref

import trio

_waiting: weakref.WeakSet[trio.SocketStream] = weakref.WeakSet()
"""Streams with a ``send_all`` under way that waits for room: nothing may be written
past it (bytes would interleave); their sends go through ``send_all`` and its checks."""


async def send_all(stream: trio.abc.SendStream, data: bytes | bytearray | memoryview) -> None:
    """Send all of ``data`` on ``stream``, as ``stream.send_all`` does (same errors)."""
    if type(stream) is not trio.SocketStream or not data or stream in _waiting:
        await stream.send_all(data)
        return
    sock = stream.socket
    if sock.did_shutdown_SHUT_WR:
        await stream.send_all(data)  # (raises ClosedResourceError)
        return
    try:
        sent = os.write(sock.fileno(), data)
    except OSError:  # full, closed or broken: send_all waits or says which
        sent = 0
    if sent == len(data):
        return
    _waiting.add(stream)
    try:
        await stream.send_all(memoryview(data)[sent:] if sent else data)
    finally:
        _waiting.discard(stream)
