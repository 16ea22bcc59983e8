"""msmgr/client/connection: one connection to a DS, NS or SB (Net::Msmgr::Connection).

One task per connection reads and dispatches, as trio-websocket's reader does: it
reads a command, hands a reply to the request waiting for its TrID (a sans-IO
``Transactions``), then runs the owner's internal hook (the session's NS or SB logic)
and every registered handler, in order, one command at a time. Writes go through the
stream's ``StrictFIFOLock``: a request writes its command itself; ``send()`` (Net::Msmgr's
synchronous send) queues it and a short task writes the queue, so the order of the
calls is the order on the wire.

A handler runs in the reading task, so a handler that awaits a reply on its own
connection (``request()``, ``send_text(ack="A")``) reads on in its place until the reply
comes; what it reads meanwhile waits in the backlog and is dispatched, in order, once
the handler returns. Pseudo events the session raises from other tasks (``login``,
``conversation``) join the backlog too (``post()``), waking the reader, so they keep
their place among the wire commands. Limits: while a handler runs (and does not await
a reply on its own connection) nothing more is read there, so other tasks' requests on
that connection wait for it too; a handler awaiting a reply stops reading after
``MAX_EVENTS`` other commands, and then its request times out.

When the peer goes away (or stops reading: a write is not done within the request
timeout, and we close) the waiting requests fail with ``ConnectionLost``, the backlog
is dispatched, and then the pseudo event ``close``; closing it ourselves (``close()``,
``shutdown()``) dispatches no ``close``. A handler error ends the connection and
propagates to the session's nursery.

``shutdown()`` sends ``OUT`` and keeps reading (and dispatching) until the server closes,
at most ``SHUTDOWN_WAIT`` seconds: a socket closed with unread data is reset, and the
server (or a proxy) would see "connection reset by peer".

Every wait has a timeout: connecting (``session.connect_timeout``), requests and writes
(``session.request_timeout`` unless given).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

import trio

from msmgr.codec import Command, Dialect
from msmgr.codec.transactions import Pending
from msmgr.codec.versions import MSNP_PORT
from msmgr.debug import Debug, flag_logger
from msmgr.stream import CommandStream, Role

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
from .interfaces import ConnectionOwner
from .wire import MAX_EVENTS as MAX_EVENTS
from .wire import MAX_QUEUE as MAX_QUEUE
from .wire import Posted, Wire

logger = logging.getLogger(__name__)

DEFAULT_SERVER = "messenger.hotmail.com"
DEFAULT_PORT = MSNP_PORT
DEFAULT_DEBUG = Debug.NOTIFICATION  # Net::Msmgr::Connection's default
SHUTDOWN_WAIT = 2.0  # seconds shutdown() waits for the server to close after OUT

CoreHook = Callable[[Command], Awaitable[None]]


class Connection(Wire):
    """A connection to an MSN server: the DS, an NS, or (as Switchboard) an SB."""

    def __init__(
        self,
        session: ConnectionOwner,
        nserver: str = DEFAULT_SERVER,
        nsport: int = DEFAULT_PORT,
        name: str = "Dispatch Server",
        debug: Debug | int = DEFAULT_DEBUG,
        handlers: HandlerTable | None = None,
        accelerate: bool | None = None,
    ) -> None:
        super().__init__(session, name, debug)
        self.nserver = nserver
        self.nsport = nsport
        self.accelerate = accelerate  # the framer's C accelerator (None: when built)
        self.handlers = handlers if handlers is not None else HandlerTable()
        self.dialect = Dialect()
        self.core: CoreHook | None = None  # the session's own processing, before handlers
        self._idle: trio.CancelScope | None = None  # the reader waiting for data: post wakes it
        self._closed = trio.Event()
        self._started = False
        self._shutting_down = False  # OUT sent: the server's close is expected, no event

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
        """Open the TCP connection and start its reader in the session's nursery.

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
        where = f"{self.nserver}:{self.nsport}"
        try:
            with trio.fail_after(timeout):
                stream = await self.session.open_stream(self.nserver, self.nsport)
        except trio.TooSlowError:
            self._closed.set()
            raise ConnectFailed(
                f"{self.name}: no connection to {where} within {timeout} s"
            ) from None
        except OSError as exc:
            self._closed.set()
            raise ConnectFailed(f"{self.name}: cannot connect to {where}: {describe(exc)}") from exc
        await self.attach(stream)
        if self.debug & Debug.OPEN:
            open_log.debug("%s connected", self.name)
        return self

    async def attach(self, stream: trio.abc.Stream) -> None:
        """Run the connection over an already open stream (what ``connect`` does after opening)."""
        self._started = True
        self._stream = CommandStream(
            stream, Role.CLIENT, dialect=self.dialect, accelerate=self.accelerate
        )
        self.open = True
        await self.session.nursery.start(self._run)

    async def _run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        assert self._stream is not None
        peer_closed = False
        try:
            with trio.CancelScope() as scope:
                self._scope = scope
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    self._reader = trio.lowlevel.current_task()
                    task_status.started()
                    peer_closed = await self._read_and_dispatch()
        finally:
            self.open = False
            self._peer_gone()
            self._release_posts()
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self._stream.stream)
            if self.debug & Debug.CLOSE:
                flag_logger(Debug.CLOSE).debug(
                    "Connection to %s:%s (%s) closed", self.nserver, self.nsport, self.name
                )
            self._closed.set()
        if (peer_closed or self._stalled) and not self._shutting_down:
            await self._process(Command.make_pseudo("close", self))

    # -- reading and dispatching -------------------------------------------------------

    async def _read_and_dispatch(self) -> bool:
        """Dispatch the backlog, read the next command, again, until the peer closes.

        Returns True when the peer closed (or sent garbage); our own close cancels it.
        """
        while True:
            await self._dispatch_backlog()
            if self._eof:
                return True
            command = None
            with trio.CancelScope() as idle:  # cancelled by post() to dispatch its event
                self._idle = idle
                command = await self._read()
            self._idle = None
            if command is not None:
                self._backlog.append(command)

    async def _dispatch_backlog(self) -> None:
        while self._backlog:
            item = self._backlog.popleft()
            if isinstance(item, Posted):
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
        if self._in_reader() or self._nursery is None or self.closed or self._eof:
            await self._process(event)
            return
        item = Posted(event)
        self._backlog.append(item)
        if self._idle is not None:
            self._idle.cancel()
        await item.done.wait()
        if not item.dispatched:  # closed before its turn: still tell the handlers
            await self._process(event)

    # -- sending -----------------------------------------------------------------------

    def send(self, command: Command) -> Command:
        """Queue ``command`` for sending; allocate its TrID first if it needs one.

        Returns the command (its ``trid`` set), like Net::Msmgr's ``Command::send``; it is
        written shortly, after everything sent before it (``flush()`` waits for that).

        Raises:
            NotConnected: the connection is not open.
        """
        if command.pseudo:
            return command
        if command.trid is None and command.raw is None and needs_trid(command):
            command.trid = self.transactions.next_trid()
        self._queue(command)
        if not self._flush_started and self._nursery is not None:
            self._flush_started = True
            self._nursery.start_soon(self._flush_in_background)
        return command

    async def flush(self, time_limit: float | None = None) -> None:
        """Wait until everything sent so far has been written.

        Raises:
            NotConnected: the connection is closed.
            ConnectionLost: the peer closed the connection, or the write failed.
            RequestTimeout: not written within ``time_limit`` (default: the request timeout).
        """
        if not self.open:
            raise self._not_connected()
        if self._eof:
            raise ConnectionLost(f"{self.name}: {self.close_reason or 'closed'}")
        await self._write_queued(time_limit)

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
            time_limit: seconds to wait; default ``session.request_timeout``.

        Raises:
            ServerError: the reply is a numeric error.
            ConnectionLost: the connection closed first.
            RequestTimeout: no reply in time.
        """
        if not self.open:
            raise self._not_connected()
        pending = self.transactions.expect(command, accept)
        self._waiters[pending.trid] = trio.Event()
        limit = self.session.request_timeout if time_limit is None else time_limit
        try:
            self._queue(command)
            await self._write_queued()
            if self._eof and not pending.done:  # the peer closed: no reply can be read
                raise ConnectionLost(f"{self.name}: {self.close_reason or 'closed'}")
            with trio.move_on_after(limit) as scope:
                await self._wait_for(pending)
            if scope.cancelled_caught:
                raise RequestTimeout(f"{self.name}: no reply to {command.line!r} within {limit} s")
        finally:
            self.transactions.forget(pending)
            self._waiters.pop(pending.trid, None)
        reply = pending.reply
        if reply is None:
            raise ConnectionLost(f"{self.name}: {self.close_reason or 'closed'}")
        if reply.is_error:
            raise ServerError(int(reply.verb), reply, command)
        return reply

    async def _wait_for(self, pending: Pending) -> None:
        if self._in_reader():  # a handler of ours: nobody else reads the reply
            await self._read_until(lambda: pending.done)
            return
        event = self._waiters.get(pending.trid)
        if event is not None and not pending.done and not self._eof:
            await event.wait()

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
        sides; no ``close`` event is dispatched, since we asked for it. From one of this
        connection's own handlers it is read but not dispatched (the handler is running).
        """
        if self.open:
            self._shutting_down = True
            try:
                self.send(Command("OUT"))
                await self.flush(time_limit=min(5.0, self.session.request_timeout))
            except (NotConnected, ConnectionLost, RequestTimeout) as exc:
                logger.debug("%s: OUT not sent: %s", self.name, exc)
            else:
                with trio.move_on_after(time_limit) as scope:
                    if self._in_reader():
                        await self._read_until(lambda: False)
                    else:
                        await self._closed.wait()
                if scope.cancelled_caught:
                    logger.debug("%s: no close within %s s of OUT, closing", self.name, time_limit)
        await self.close()

    async def close(self) -> None:
        """Close the connection (no ``close`` event: that is for the peer going away)."""
        self.close_reason = self.close_reason or "closed by client"
        self._end_writes()
        if self._scope is None and not self._started:
            self._closed.set()
        if self._in_reader():
            return  # a handler closing its own connection: it is cancelled, it cannot wait
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (by either side)."""
        await self._closed.wait()
