"""msmgr/server/connection: one client connection of the reference server.

Send policy (so that one client can never stall another):

* Everything a connection sends goes through its own bounded queue
  (``ServerConfig.send_queue`` commands), drained by the connection's writer task; each
  write must finish within ``ServerConfig.send_timeout`` seconds or the client is dropped.
* Replies to the client's own commands use ``await send()``: when the queue is full the
  client's own reader waits (back-pressure on the client that is not reading).
* Commands caused by *other* clients (NLN, RNG, JOI, MSG relays...) use ``post()``, which
  never blocks: when the queue is full the slow client is dropped instead.
* ``kick()`` (OUT OTH, 540, ...) lets the writer send what is queued, then closes.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable

import trio

from msmgr.codec import Command
from msmgr.stream import CommandStream, Role, StreamClosed

logger = logging.getLogger(__name__)

_ids = itertools.count(1)


class Connection:
    """A client's command stream plus its bounded outgoing queue (an ``Outbox``)."""

    def __init__(
        self,
        stream: trio.SocketStream,
        role: str,
        *,
        queue_size: int,
        send_timeout: float,
        accelerate: bool | None = None,
    ) -> None:
        self.id = next(_ids)
        self.role = role
        self.stream = stream
        self.commands = CommandStream(stream, Role.SERVER, accelerate=accelerate)
        self.send_timeout = send_timeout
        try:
            peer = stream.socket.getpeername()
            self.peer: tuple[str, int] = (str(peer[0]), int(peer[1]))
        except OSError:
            self.peer = ("0.0.0.0", 0)
        self._send_ch, self._recv_ch = trio.open_memory_channel[Command](queue_size)
        self._scope = trio.CancelScope()
        self._nursery: trio.Nursery | None = None

    def __str__(self) -> str:
        return f"{self.role}#{self.id}"

    @property
    def nursery(self) -> trio.Nursery:
        """The connection's nursery (for helper tasks such as the challenge timer)."""
        assert self._nursery is not None, "connection is not running"
        return self._nursery

    async def run(self, body: Callable[[], Awaitable[None]]) -> None:
        """Run ``body`` (the command loop) with the writer; close the stream at the end."""
        logger.info("%s: connection from %s:%d", self, *self.peer)
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._writer, nursery.cancel_scope)
                    try:
                        await body()
                    finally:
                        self._send_ch.close()  # the writer flushes, then ends the nursery
        finally:
            await trio.aclose_forcefully(self.stream)
            logger.info("%s: connection closed", self)

    async def send(self, *commands: Command) -> None:
        """Queue replies, waiting while the queue is full.

        Raises:
            StreamClosed: the connection is closing.
        """
        # queue without yielding while there is room, so that no other task's post()
        # lands between the replies to one command
        try:
            for command in commands:
                try:
                    self._send_ch.send_nowait(command)
                except trio.WouldBlock:
                    await self._send_ch.send(command)
        except (trio.ClosedResourceError, trio.BrokenResourceError) as exc:
            raise StreamClosed("connection is closing") from exc
        await trio.lowlevel.checkpoint()

    def post(self, command: Command) -> None:
        """Queue a command without waiting; drop the client if its queue is full."""
        try:
            self._send_ch.send_nowait(command)
        except trio.WouldBlock:
            logger.warning("%s: send queue full, dropping the slow client", self)
            self._scope.cancel()
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass  # closing already

    def room(self) -> int:
        """How many more commands the queue takes before the client counts as stalled."""
        stats = self._send_ch.statistics()
        return int(stats.max_buffer_size) - stats.current_buffer_used

    def kick(self, reason: str) -> None:
        """Send what is queued, then close."""
        logger.info("%s: closing (%s)", self, reason)
        self._send_ch.close()

    async def _writer(self, scope: trio.CancelScope) -> None:
        try:
            async for first in self._recv_ch:
                batch = [first]
                while len(batch) < 64:
                    try:
                        batch.append(self._recv_ch.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                with trio.fail_after(self.send_timeout):
                    await self.commands.send(*batch)
                if logger.isEnabledFor(logging.DEBUG):
                    for command in batch:
                        logger.debug("%s >>> %s", self, command)
        except trio.TooSlowError:
            logger.warning(
                "%s: write took over %.0f s, dropping the client", self, self.send_timeout
            )
        except StreamClosed:
            logger.debug("%s: peer gone while writing", self)
        finally:
            scope.cancel()
