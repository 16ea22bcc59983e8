"""msmgr/client/wire: the reading and writing half of a client connection.

``Wire`` reads one command at a time (logged, a reply handed to the request awaiting
its TrID through a sans-IO ``Transactions``) and writes queued commands in order under
the stream's ``StrictFIFOLock``. Net::Msmgr's ``send`` does not wait, so a sent command
is queued first; whoever writes next (a request, ``flush``, or the short task ``send``
starts) writes everything queued, so the order of the calls is the order on the wire.
``Connection`` builds its reading and dispatching task and its requests on it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from msmgr.codec import Command, MsnpError
from msmgr.codec.transactions import Transactions
from msmgr.debug import Debug, flag_logger
from msmgr.stream import CommandStream, StreamClosed

from .errors import ConnectionLost, NotConnected, RequestTimeout, describe
from .interfaces import ConnectionOwner

logger = logging.getLogger(__name__)

MAX_QUEUE = 4096  # commands waiting to be written; more means the peer stopped reading
MAX_EVENTS = 256  # commands read while a handler awaits a reply; more and reading pauses


@dataclass(slots=True)
class Posted:
    """A pseudo event in the backlog: ``done`` is set once its handlers have run."""

    event: Command
    done: trio.Event = field(default_factory=trio.Event)
    dispatched: bool = False


class Wire:
    """The IO state of one connection: its stream, open requests, backlog and outbox."""

    def __init__(self, session: ConnectionOwner, name: str, debug: Debug | int) -> None:
        self.session = session
        self.name = name
        self.debug = Debug(debug)
        self.open = False
        self.close_reason: str | None = None
        self.transactions = Transactions(session.trids)
        self._stream: CommandStream | None = None
        self._waiters: dict[int, trio.Event] = {}  # a request's TrID -> set on its reply
        self._outbox: list[bytes] = []  # queued by send(), not yet written
        self._flush_started = False
        self._backlog: deque[Command | Posted] = deque()  # read or posted, not dispatched
        self._scope: trio.CancelScope | None = None  # the connection's: cancelled to close
        self._nursery: trio.Nursery | None = None  # the connection's, for background writes
        self._reader: trio.lowlevel.Task | None = None  # the reading and dispatching task
        self._eof = False  # the peer closed (or sent garbage): no more replies
        self._writes: set[trio.CancelScope] = set()  # writes under way: closing ends them
        self._stalled = False  # a write timed out: the peer stopped reading, we closed

    # -- reading -----------------------------------------------------------------------

    async def _read(self) -> Command | None:
        """The next command, its request (if it is a reply) completed; None at the end."""
        assert self._stream is not None
        try:
            command = await self._stream.receive()
        except StreamClosed as exc:
            reason = f"connection closed by server ({describe(exc)})"
            self.close_reason = self.close_reason or reason
            self._peer_gone()
            return None
        except MsnpError as exc:
            self.close_reason = f"server sent invalid data: {exc}"
            if self.debug & Debug.CONFUSED:
                flag_logger(Debug.CONFUSED).debug("%s: %s", self.name, self.close_reason)
            logger.warning("%s: %s", self.name, self.close_reason)
            self._peer_gone()
            return None
        if self.debug & Debug.PACKET_RECV:
            flag_logger(Debug.PACKET_RECV).debug("%s <<< %r", self.name, command.raw)
        if self.debug & Debug.COMMAND_RECV:
            flag_logger(Debug.COMMAND_RECV).debug("%s <-- %s", self.name, command)
        pending = self.transactions.reply(command)
        if pending is not None:
            self._wake(pending.trid)
        return command

    async def _read_until(self, done: Callable[[], bool]) -> None:
        """In the reading task (a handler waits): read into the backlog until ``done()``.

        Stops at the peer's close; with ``MAX_EVENTS`` commands held back it reads no
        more, and the caller's timeout ends the wait.
        """
        while not done() and not self._eof:
            if len(self._backlog) >= MAX_EVENTS:
                await trio.sleep_forever()
            command = await self._read()
            if command is not None:
                self._backlog.append(command)

    def _in_reader(self) -> bool:
        """True in this connection's reading task: in one of its handlers or hooks."""
        return self._reader is not None and trio.lowlevel.current_task() is self._reader

    def _peer_gone(self) -> None:
        """No reply can come any more: every waiting request fails."""
        self._eof = True
        for pending in self.transactions.abandon():
            self._wake(pending.trid)

    def _wake(self, trid: int) -> None:
        event = self._waiters.pop(trid, None)
        if event is not None:
            event.set()

    def _release_posts(self) -> None:
        """Let every poster of a pseudo event still in the backlog go on."""
        for item in self._backlog:
            if isinstance(item, Posted):
                item.done.set()
        self._backlog.clear()

    # -- writing -----------------------------------------------------------------------

    def _queue(self, command: Command) -> None:
        if not self.open:
            raise self._not_connected()
        if len(self._outbox) >= MAX_QUEUE:
            raise NotConnected(f"{self.name}: transmit queue full ({MAX_QUEUE})")
        data = command.to_bytes()
        # Logged before writing: a reply can be read (and logged) before the write returns.
        if self.debug & Debug.PACKET_SEND:
            flag_logger(Debug.PACKET_SEND).debug("%s >>> %r", self.name, data)
        if self.debug & Debug.COMMAND_SEND:
            flag_logger(Debug.COMMAND_SEND).debug("%s --> %s", self.name, command)
        self._outbox.append(data)

    def _not_connected(self) -> NotConnected:
        if self.debug & Debug.CONFUSED:
            flag_logger(Debug.CONFUSED).debug("%s: Not connected", self.name)
        return NotConnected(f"{self.name} is not connected ({self.close_reason or 'closed'})")

    async def _write_queued(self, time_limit: float | None = None) -> None:
        """Write what is queued, after every write already under way (the stream's lock).

        The write is shielded: a command cut off half-way would garble the stream. It
        is bounded instead: a peer that stops reading for ``time_limit`` seconds
        (default: the request timeout) loses the connection.

        Raises:
            ConnectionLost: the write failed.
            RequestTimeout: not written in time (the connection is then closed).
        """
        assert self._stream is not None
        data = b"".join(self._outbox)
        self._outbox.clear()
        self._flush_started = False
        limit = self.session.request_timeout if time_limit is None else time_limit
        scope = trio.CancelScope(shield=True, deadline=trio.current_time() + limit)
        self._writes.add(scope)
        try:
            with scope:
                await self._stream.send_bytes(data)
        except StreamClosed as exc:
            if self.debug & Debug.CONFUSED:
                flag_logger(Debug.CONFUSED).debug("%s: Not connected (%s)", self.name, exc)
            self.close_reason = self.close_reason or f"write failed: {describe(exc)}"
            raise ConnectionLost(f"{self.name}: {self.close_reason}") from exc
        finally:
            self._writes.discard(scope)
        if scope.cancelled_caught and not self.open:  # closed meanwhile (_end_writes)
            raise ConnectionLost(f"{self.name}: {self.close_reason or 'closed'}")
        if scope.cancelled_caught:
            self.close_reason = self.close_reason or f"could not write within {limit} s"
            self._stalled = True
            self._end_writes()
            raise RequestTimeout(f"{self.name}: could not write within {limit} s")

    def _end_writes(self) -> None:
        """Close: end the connection's task and the writes under way (their shields too)."""
        self.open = False
        if self._scope is not None:
            self._scope.cancel()
        for scope in self._writes:
            scope.cancel()

    async def _flush_in_background(self) -> None:
        if not self._outbox:
            return
        try:
            await self._write_queued()
        except (ConnectionLost, RequestTimeout) as exc:
            logger.debug("%s: %s", self.name, exc)
