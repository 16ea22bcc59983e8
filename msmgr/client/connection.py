"""msmgr/client/connection: one connection to a DS, NS or SB (Net::Msmgr::Connection).

Strategy: a connection runs three tasks in the session's nursery: a reader, a
dispatcher and a writer. ``send()`` only enqueues (Net::Msmgr's send queue); the writer
drains the queue in order. The reader parses commands with ``msmgr.stream.CommandStream``,
completes the request waiting for that TrID (``request()``) at once, and puts every
command on the event queue (at most ``MAX_EVENTS``, then the reader waits: backpressure
on the socket). The dispatcher takes them off in order and runs the owner's internal
hook (the session's NS or SB logic), then every registered handler: Net::Msmgr's order
guarantee holds per connection, and since the reader never waits for a handler, a
handler may await a reply on its own connection (``request()``, ``send_text(ack="A")``).
Pseudo events the session raises (``login``, ``conversation``) go through the same queue
(``post()``), so they keep their place among the wire commands.

When the peer goes away the reader fails the waiting requests with ``ConnectionLost``,
the dispatcher finishes what was queued, and then the pseudo event ``close`` is
dispatched; closing it ourselves (``close()``/``shutdown()``) dispatches no ``close``.
A handler error ends the connection and propagates to the session's nursery, as before.

Limit: a handler that waits for a reply while more than ``MAX_EVENTS`` commands arrive
before that reply still waits until its request times out (the reader is held by the
full queue); the queue is bounded on purpose, so a slow handler cannot eat memory.

``shutdown()`` closes cleanly: it sends ``OUT`` and keeps reading (and dispatching)
until the server closes, at most ``SHUTDOWN_WAIT`` seconds, before closing the socket.
Closing at once would leave the server's last lines unread, and a socket closed with
unread data is reset: the server (or a proxy) would see "connection reset by peer".

Every wait has a timeout: connecting (``session.connect_timeout``), requests
(``session.request_timeout`` unless given), flushing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import trio

from msmgr.codec import Command, Dialect, MsnpError
from msmgr.debug import Debug, flag_logger
from msmgr.stream import CommandStream, ConnectionClosed, Role

from .command import needs_trid
from .errors import (
    ConnectFailed,
    ConnectionLost,
    NotConnected,
    RequestTimeout,
    ServerError,
    describe,
)
from .handlers import Handler, HandlerTable

if TYPE_CHECKING:
    from .session import Session

logger = logging.getLogger(__name__)

DEFAULT_SERVER = "messenger.hotmail.com"
DEFAULT_PORT = 1863
DEFAULT_DEBUG = Debug.NOTIFICATION  # Net::Msmgr::Connection's default
MAX_QUEUE = 4096  # commands waiting to be written; more means the peer stopped reading
MAX_EVENTS = 256  # commands read but not yet dispatched; more and the reader waits
SHUTDOWN_WAIT = 2.0  # seconds shutdown() waits for the server to close after OUT

CoreHook = Callable[[Command], Awaitable[None]]


@dataclass(slots=True)
class _Pending:
    """A request waiting for its reply (matched by TrID)."""

    request: Command
    accept: Collection[str]
    done: trio.Event = field(default_factory=trio.Event)
    reply: Command | None = None
    error: Exception | None = None


@dataclass(slots=True)
class _Posted:
    """A pseudo event in the event queue: ``done`` is set once its handlers have run."""

    event: Command
    done: trio.Event = field(default_factory=trio.Event)
    dispatched: bool = False


@dataclass(slots=True)
class _Flush:
    """A marker in the transmit queue: set once everything before it was written."""

    done: trio.Event = field(default_factory=trio.Event)


class Connection:
    """A connection to an MSN server: the DS, an NS, or (as Switchboard) an SB."""

    def __init__(
        self,
        session: Session,
        nserver: str = DEFAULT_SERVER,
        nsport: int = DEFAULT_PORT,
        name: str = "Dispatch Server",
        debug: Debug | int = DEFAULT_DEBUG,
        handlers: HandlerTable | None = None,
    ) -> None:
        self.session = session
        self.nserver = nserver
        self.nsport = nsport
        self.name = name
        self.debug = Debug(debug)
        self.handlers = handlers if handlers is not None else HandlerTable()
        self.open = False
        self.close_reason: str | None = None
        self.dialect = Dialect()
        self.core: CoreHook | None = None  # the session's own processing, before handlers
        self._stream: CommandStream | None = None
        self._send_q, self._recv_q = trio.open_memory_channel[Command | _Flush](MAX_QUEUE)
        self._events_in, self._events_out = trio.open_memory_channel[Command | _Posted](MAX_EVENTS)
        self._pending: dict[int, _Pending] = {}
        self._scope: trio.CancelScope | None = None
        self._closed = trio.Event()
        self._started = False
        self._shutting_down = False  # OUT sent: the server's close is expected, no event
        self._dispatcher_task: trio.lowlevel.Task | None = None
        self._reader_done = trio.Event()  # the peer closed (or sent garbage): no more replies

    def __repr__(self) -> str:
        state = "open" if self.open else "closed"
        return f"<{type(self).__name__} {self.name!r} {self.nserver}:{self.nsport} {state}>"

    @property
    def version(self) -> int | None:
        """The MSNP version negotiated on this connection (None before VER, and on an SB)."""
        return self.dialect.version

    @property
    def shutting_down(self) -> bool:
        """True once ``shutdown()`` sent (or tried to send) ``OUT``."""
        return self._shutting_down

    @property
    def closed(self) -> bool:
        """True once the connection has been closed (by either side)."""
        return self._closed.is_set()

    # -- connecting --------------------------------------------------------------------

    async def connect(self) -> Connection:
        """Open the TCP connection and start its reader and writer in the session's nursery.

        Raises:
            ConnectFailed: refused, unreachable or not within ``session.connect_timeout``.
        """
        if self._started:
            raise RuntimeError(f"{self.name} was already connected once")
        self._started = True
        open_log = flag_logger(Debug.OPEN)
        if self.debug & Debug.OPEN:
            open_log.debug("%s connecting to: %s:%s", self.name, self.nserver, self.nsport)
        timeout = self.session.connect_timeout
        try:
            with trio.fail_after(timeout):
                stream = await self.session.open_stream(self.nserver, self.nsport)
        except trio.TooSlowError:
            self._closed.set()
            raise ConnectFailed(
                f"{self.name}: no connection to {self.nserver}:{self.nsport} within {timeout} s"
            ) from None
        except OSError as exc:
            self._closed.set()
            raise ConnectFailed(
                f"{self.name}: cannot connect to {self.nserver}:{self.nsport}: {describe(exc)}"
            ) from exc
        await self.attach(stream)
        if self.debug & Debug.OPEN:
            open_log.debug("%s connected", self.name)
        return self

    async def attach(self, stream: trio.abc.Stream) -> None:
        """Run the connection over an already open stream (what ``connect`` does after opening)."""
        self._started = True
        self._stream = CommandStream(stream, Role.CLIENT, dialect=self.dialect)
        self.open = True
        await self.session.nursery.start(self._run)

    async def _run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        assert self._stream is not None
        peer_closed = False
        try:
            with trio.CancelScope() as scope:
                self._scope = scope
                task_status.started()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._dispatcher)
                    async with trio.open_nursery() as io:
                        io.start_soon(self._writer)
                        peer_closed = await self._reader()
                        io.cancel_scope.cancel()
                    # The peer is gone: no reply can come. The dispatcher finishes the queue.
                    self._reader_done.set()
                    self._fail_pending(ConnectionLost(f"{self.name}: {self.close_reason}"))
                    self._events_in.close()
        finally:
            self.open = False
            self._reader_done.set()
            self._fail_pending(ConnectionLost(f"{self.name}: {self.close_reason or 'closed'}"))
            self._release_flushes()
            self._release_posts()
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self._stream.stream)
            if self.debug & Debug.CLOSE:
                flag_logger(Debug.CLOSE).debug(
                    "Connection to %s:%s (%s) closed", self.nserver, self.nsport, self.name
                )
            self._closed.set()
        if peer_closed and not self._shutting_down:
            await self._process(Command.make_pseudo("close", self))

    async def _reader(self) -> bool:
        """Read until the peer closes, completing requests and queueing every command.

        Returns True when the peer closed (or sent garbage); our own close cancels it.
        """
        assert self._stream is not None
        recv_log = flag_logger(Debug.COMMAND_RECV)
        packet_log = flag_logger(Debug.PACKET_RECV)
        while True:
            try:
                command = await self._stream.receive()
            except ConnectionClosed as exc:
                self.close_reason = (
                    self.close_reason or f"connection closed by server ({describe(exc)})"
                )
                return True
            except MsnpError as exc:
                self.close_reason = f"server sent invalid data: {exc}"
                if self.debug & Debug.CONFUSED:
                    flag_logger(Debug.CONFUSED).debug("%s: %s", self.name, self.close_reason)
                logger.warning("%s: %s", self.name, self.close_reason)
                return True
            if self.debug & Debug.PACKET_RECV:
                packet_log.debug("%s <<< %r", self.name, command.raw)
            if self.debug & Debug.COMMAND_RECV:
                recv_log.debug("%s <-- %s", self.name, command)
            self._complete(command)
            await self._events_in.send(command)

    async def _dispatcher(self) -> None:
        """Run the core hook and the handlers for every queued command, in order."""
        self._dispatcher_task = trio.lowlevel.current_task()
        async for item in self._events_out:
            if isinstance(item, _Posted):
                item.dispatched = True
                try:
                    await self._process(item.event)
                finally:
                    item.done.set()
            else:
                await self._process(item)

    async def _process(self, command: Command) -> None:
        if self.core is not None:
            await self.core(command)
        await self.dispatch(command)

    async def post(self, event: Command) -> None:
        """Dispatch a pseudo ``event`` in order with the commands read so far; wait for it.

        Called from this connection's own handler (or once the connection is closed), the
        event is dispatched at once: it is in order there already.
        """
        in_dispatcher = trio.lowlevel.current_task() is self._dispatcher_task
        if in_dispatcher or not self._started or self.closed:
            await self._process(event)
            return
        item = _Posted(event)
        try:
            await self._events_in.send(item)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            await self._process(event)  # the queue is finished: nothing left to order with
            return
        await item.done.wait()
        if not item.dispatched:  # closed before its turn: still tell the handlers
            await self._process(event)

    async def _writer(self) -> None:
        assert self._stream is not None
        send_log = flag_logger(Debug.COMMAND_SEND)
        packet_log = flag_logger(Debug.PACKET_SEND)
        async for item in self._recv_q:
            if isinstance(item, _Flush):
                item.done.set()
                continue
            data = item.to_bytes()
            # Logged before writing: a reply can be read (and logged) before send_bytes returns.
            if self.debug & Debug.PACKET_SEND:
                packet_log.debug("%s >>> %r", self.name, data)
            if self.debug & Debug.COMMAND_SEND:
                send_log.debug("%s --> %s", self.name, item)
            try:
                await self._stream.send_bytes(data)
            except ConnectionClosed as exc:
                if self.debug & Debug.CONFUSED:
                    flag_logger(Debug.CONFUSED).debug("%s: Not connected (%s)", self.name, exc)
                self.close_reason = self.close_reason or f"write failed: {describe(exc)}"
                return

    # -- sending -----------------------------------------------------------------------

    def send(self, command: Command) -> Command:
        """Enqueue ``command`` for sending; allocate its TrID first if it needs one.

        Returns the command (its ``trid`` set), like Net::Msmgr's ``Command::send``.

        Raises:
            NotConnected: the connection is not open.
        """
        if command.pseudo:
            return command
        if command.trid is None and command.raw is None and needs_trid(command):
            command.trid = self.session.trids.next()
        self._enqueue(command)
        return command

    def _enqueue(self, item: Command | _Flush) -> None:
        if not self.open:
            if self.debug & Debug.CONFUSED:
                flag_logger(Debug.CONFUSED).debug("%s: Not connected", self.name)
            raise NotConnected(f"{self.name} is not connected ({self.close_reason or 'closed'})")
        try:
            self._send_q.send_nowait(item)
        except trio.WouldBlock:
            raise NotConnected(f"{self.name}: transmit queue full ({MAX_QUEUE})") from None

    async def flush(self, time_limit: float | None = None) -> None:
        """Wait until everything enqueued so far has been written.

        Raises:
            NotConnected: the connection is closed.
            RequestTimeout: not written within ``time_limit`` (default: the request timeout).
        """
        marker = _Flush()
        self._enqueue(marker)
        if self._reader_done.is_set():  # the writer stopped with the reader: nothing is written
            raise ConnectionLost(f"{self.name}: {self.close_reason or 'closed'}")
        limit = self.session.request_timeout if time_limit is None else time_limit
        with trio.move_on_after(limit) as scope:
            await marker.done.wait()
        if scope.cancelled_caught:
            raise RequestTimeout(f"{self.name}: could not write within {limit} s")
        if not self.open and self.close_reason:
            raise ConnectionLost(f"{self.name}: {self.close_reason}")

    async def request(
        self,
        command: Command,
        *,
        accept: Collection[str] = (),
        time_limit: float | None = None,
    ) -> Command:
        """Send ``command`` and return the reply with its TrID.

        Args:
            command: the request (a TrID is allocated).
            accept: verbs besides the request's own that count as the reply (other
                commands with the same TrID, such as ``IRO`` before ``ANS``, are only
                dispatched to handlers).
            timeout: seconds to wait; default ``session.request_timeout``.

        Raises:
            ServerError: the reply is a numeric error.
            ConnectionLost: the connection closed first.
            RequestTimeout: no reply in time.
        """
        if command.trid is None:
            command.trid = self.session.trids.next()
        pending = _Pending(command, frozenset({command.verb, *accept}))
        self._pending[command.trid] = pending
        try:
            self.send(command)
            if self._reader_done.is_set():  # the peer closed: no reply can be read any more
                raise ConnectionLost(f"{self.name}: {self.close_reason or 'closed'}")
            limit = self.session.request_timeout if time_limit is None else time_limit
            with trio.move_on_after(limit) as scope:
                await pending.done.wait()
            if scope.cancelled_caught:
                raise RequestTimeout(f"{self.name}: no reply to {command.line!r} within {limit} s")
        finally:
            self._pending.pop(command.trid, None)
        if pending.error is not None:
            raise pending.error
        reply = pending.reply
        assert reply is not None
        if reply.is_error:
            raise ServerError(int(reply.verb), reply, command)
        return reply

    def _complete(self, command: Command) -> None:
        if command.trid is None:
            return
        pending = self._pending.get(command.trid)
        if pending is None or pending.done.is_set():
            return
        if command.is_error or command.verb in pending.accept:
            pending.reply = command
            pending.done.set()

    def _fail_pending(self, error: Exception) -> None:
        for pending in self._pending.values():
            if not pending.done.is_set():
                pending.error = error
                pending.done.set()

    def _release_posts(self) -> None:
        while True:
            try:
                item = self._events_out.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return
            if isinstance(item, _Posted):
                item.done.set()

    def _release_flushes(self) -> None:
        while True:
            try:
                item = self._recv_q.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return
            if isinstance(item, _Flush):
                item.done.set()

    # -- handlers ----------------------------------------------------------------------

    def add_handler(self, handler: Handler, *commands: str) -> None:
        """Call ``handler`` for every received command (or pseudo event) named in ``commands``."""
        self.handlers.add(handler, *commands, owner=self.session)

    def remove_handler(self, handler: Handler, *commands: str) -> None:
        """Stop calling ``handler`` for ``commands`` (all names if none given)."""
        self.handlers.remove(handler, *commands)

    async def dispatch(self, command: Command) -> None:
        """Call the handlers registered for ``command.verb`` (Net::Msmgr's ``dispatch_all``)."""
        await self.handlers.dispatch(
            command, owner=self.session, conn_name=self.name, debug=self.session.debug
        )

    # -- closing -----------------------------------------------------------------------

    async def shutdown(self, time_limit: float = SHUTDOWN_WAIT) -> None:
        """Send ``OUT``, wait until the server closes (at most ``time_limit`` s), then close.

        Whatever the server still sends meanwhile (its ``OUT``, last notifications) is
        read and dispatched as usual, so the connection ends with a clean close on both
        sides; no ``close`` event is dispatched, since we asked for it.
        """
        if self.open:
            self._shutting_down = True
            try:
                self.send(Command("OUT"))
                await self.flush(time_limit=min(5.0, self.session.request_timeout))
            except (NotConnected, ConnectionLost, RequestTimeout) as exc:
                logger.debug("%s: OUT not sent: %s", self.name, exc)
            else:
                # From one of our own handlers, the queue cannot drain while we wait
                # (we are its dispatcher): wait for the server's close to be read instead.
                in_dispatcher = trio.lowlevel.current_task() is self._dispatcher_task
                closed = self._reader_done if in_dispatcher else self._closed
                with trio.move_on_after(time_limit) as scope:
                    await closed.wait()
                if scope.cancelled_caught:
                    logger.debug("%s: no close within %s s of OUT, closing", self.name, time_limit)
        await self.close()

    async def close(self) -> None:
        """Close the connection (no ``close`` event: that is for the peer going away)."""
        self.close_reason = self.close_reason or "closed by client"
        self.open = False
        self._send_q.close()
        if self._scope is not None:
            self._scope.cancel()
        elif not self._started:
            self._closed.set()
        if trio.lowlevel.current_task() is self._dispatcher_task:
            return  # a handler closing its own connection: it is cancelled, it cannot wait
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (by either side)."""
        await self._closed.wait()
