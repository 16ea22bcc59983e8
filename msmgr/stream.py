"""msmgr/stream: the thin trio adapter between a ``trio.abc.Stream`` and the codec.

A ``CommandStream`` reads with a ``Framer`` and writes ``Command.to_bytes()``; writes are
serialised by a ``trio.StrictFIFOLock`` so that several tasks may send on one stream.
It knows nothing of MSNP semantics; the client library, the reference server and the
tests' scripted peers are all built on it. What it reads raises the strict framer's
``RemoteProtocolError``; a closed or broken stream raises ``StreamClosed``.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import AsyncIterator

import trio

from .codec import Command, Dialect, Direction, Framer, Limits, MsnpError

logger = logging.getLogger(__name__)

RECEIVE_SIZE = 65536


class Role(enum.Enum):
    """Which end of a connection a CommandStream is: it reads the other end's direction."""

    CLIENT = "client"
    SERVER = "server"

    @property
    def incoming(self) -> Direction:
        return Direction.S2C if self is Role.CLIENT else Direction.C2S


class StreamClosed(MsnpError):
    """The peer closed the connection (or it broke) while a command was awaited or sent."""


ConnectionClosed = StreamClosed
"""The old name of ``StreamClosed``."""


class CommandStream:
    """MSNP commands over a trio stream, for one end of one connection.

    Args:
        stream: the byte stream (a ``trio.SocketStream`` or a memory stream).
        role: which end we are; decides which direction's tables parse what we read.
        limits: line and payload limits of the framer.
        dialect: the negotiated version, shared with anything else parsing this connection.
        accelerate: the framer's C accelerator (``Framer(accelerate=...)``); None (the
            default): when it is built.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        role: Role,
        *,
        limits: Limits | None = None,
        dialect: Dialect | None = None,
        accelerate: bool | None = None,
    ) -> None:
        self.stream = stream
        self.role = role
        self.framer = Framer(
            role.incoming, strict=True, dialect=dialect, limits=limits, accelerate=accelerate
        )
        self._ready: deque[Command] = deque()
        self._send_lock = trio.StrictFIFOLock()
        self._eof = False

    @property
    def dialect(self) -> Dialect:
        return self.framer.dialect

    async def send(self, *commands: Command) -> None:
        """Write commands, in order, as one write.

        Raises:
            StreamClosed: the stream is closed or broken.
        """
        await self.send_bytes(b"".join(c.to_bytes() for c in commands))

    async def send_bytes(self, data: bytes) -> None:
        """Write raw bytes (already framed)."""
        async with self._send_lock:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise StreamClosed(str(exc) or "connection closed") from exc

    async def receive(self) -> Command:
        """The next command from the peer.

        Raises:
            StreamClosed: end of stream (or a broken stream) before a whole command.
            RemoteProtocolError: the peer sent something that is not MSNP.
        """
        while not self._ready:
            if self._eof:
                raise StreamClosed("connection closed by peer")
            try:
                data = await self.stream.receive_some(RECEIVE_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._eof = True
                raise StreamClosed(str(exc) or "connection closed") from exc
            if not data:
                self._eof = True
                self.framer.close()  # raises RemoteProtocolError on a partial command
                continue
            for event in self.framer.feed(data):
                if not isinstance(event, Command):  # pragma: no cover - strict framer
                    raise RuntimeError(f"unexpected event from a strict framer: {event!r}")
                self._ready.append(event)
        return self._ready.popleft()

    def __aiter__(self) -> AsyncIterator[Command]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Command]:
        while True:
            try:
                yield await self.receive()
            except StreamClosed:
                return

    async def aclose(self) -> None:
        """Close the underlying stream (idempotent)."""
        await self.stream.aclose()
