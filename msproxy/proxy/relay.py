"""msproxy/proxy/relay: the sans-IO core of one proxied connection (events in, commands out).

``Relay.handle(event)`` is the only entry. What an event does depends on the state, one
method each (``_handle_event`` is reassigned as the state changes, as in mitmproxy's
layers):

* ``_waiting_first``: client bytes are held; the first command asks the driver to open the
  upstream (``OpenUpstream``), which it routes on;
* ``_connecting``: client bytes are held until ``UpstreamOpened``;
* ``_relaying``: every command goes on as it arrived (its ``raw``), except the address of
  an ``XFR``/``RNG`` (see ``msmgr.codec.redirect``), rewritten between ``RequestRedirect``
  and ``RedirectReady`` while later server bytes wait. Client bytes are never rewritten:
  once none is held, ``ForwardUnframed`` tells the driver to send client chunks on before
  handing them in, and the relay then only frames and records them;
* ``_closed``: every event is ignored.

Each chunk's capture records and log lines come after the ``SendData`` that forwards it
(``sends.Batch``); the capture keeps each command as received, then a ``rewrite`` record.
A line or payload over the limits closes the connection (``error``, ``close``). While
relaying with no command shown, the C fast path frames runs of ordinary commands
(``Framer.bulk``, ``msproxy.capture.scan``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from msmgr.codec import Command, CommandRun, Desync, Dialect, Limits, Passthrough, Unparsed
from msmgr.codec import Event as FramerEvent
from msmgr.codec.redirect import RedirectInfo, find_redirect, replace_token
from msmgr.debug import Debug
from msproxy.capture import records
from msproxy.capture.scan import accelerated
from msproxy.view.names import connection_name

from . import logs
from .commands import (
    CloseSide,
    ForwardUnframed,
    OpenUpstream,
    ProxyCommand,
    RequestRedirect,
    WriteRecords,
)
from .events import (
    ConnectionClosed,
    DataReceived,
    Event,
    RedirectReady,
    Shutdown,
    Side,
    UpstreamOpened,
)
from .redact import SECRET_VERBS, Redactor
from .sends import Batch
from .ways import REDIRECT_VERBS, Way

_Handler = Callable[[Event, list[ProxyCommand]], None]


class RelayState(enum.Enum):
    """Where a Relay is in the life of its connection."""

    WAITING_FIRST = "waiting-first"
    CONNECTING = "connecting"
    RELAYING = "relaying"
    CLOSED = "closed"


class Relay:
    """The state of one proxied client connection; feed it events with ``handle``.

    Args:
        conn: the connection number used in capture records and log lines.
        client: the client's address (``host:port``), for the ``open`` record.
        redactor: replaces secrets in capture records; None keeps them.
        debug: the debug flags selecting which ``Log`` commands are produced.
        limits: line and payload limits; exceeding one closes the connection.
        opened: when the client's connection was accepted (the ``open`` record's ``t``).
        record: build ``cmd`` records (False when nothing is captured: the ``WriteRecords``
            commands then carry only the other records).
        fast: frame runs of ordinary commands, and write their capture records, with the
            C fast path; None (the default): when it is built and not turned off
            (``msproxy.capture.scan.accelerated``); True without it raises RuntimeError.
    """

    __slots__ = (
        "_awaiting",
        "_debug",
        "_eof",
        "_first_close",
        "_handle_event",
        "_held",
        "_log_commands",
        "_log_packets",
        "_open_recorded",
        "_queued",
        "_ways",
        "client",
        "close_reason",
        "closed_by",
        "conn",
        "dialect",
        "opened",
        "record",
        "redactor",
        "role",
        "state",
        "upstream",
    )

    def __init__(
        self,
        conn: int,
        *,
        client: str,
        redactor: Redactor | None = None,
        debug: Debug = Debug.NONE,
        limits: Limits | None = None,
        opened: float = 0.0,
        record: bool = True,
        fast: bool | None = None,
    ) -> None:
        self.conn = conn
        self.opened = opened
        self.client = client
        self.redactor = redactor
        self.record = record
        self.dialect = Dialect()
        fast = accelerated() if fast is None else fast
        self._ways = tuple(
            Way(
                side,
                conn=conn,
                dialect=self.dialect,
                limits=limits,
                fast=fast,
                redact=redactor is not None,
            )
            for side in (Side.CLIENT, Side.UPSTREAM)
        )
        self._debug = Debug.NONE
        self._log_commands = False
        self._log_packets = False
        self.state = RelayState.WAITING_FIRST
        self._handle_event: _Handler = self._waiting_first
        self.debug = debug
        self.role: str | None = None
        self.upstream: str | None = None
        self.closed_by: str | None = None
        self.close_reason: str | None = None
        self._held: list[tuple[FramerEvent, float]] = []  # client events before the upstream
        self._queued: list[tuple[FramerEvent, float]] = []  # server events during a redirect
        self._awaiting: tuple[Command, RedirectInfo] | None = None
        self._eof: set[Side] = set()
        self._open_recorded = False
        self._first_close: float | None = None

    @property
    def debug(self) -> Debug:
        """The debug flags selecting the ``Log`` commands (may change at any time)."""
        return self._debug

    @debug.setter
    def debug(self, flags: Debug) -> None:
        if flags is self._debug:
            return
        self._debug = flags
        # Precomputed: testing an IntFlag costs a Python call, too much per command.
        self._log_commands = bool(
            flags & (Debug.COMMAND_SEND | Debug.COMMAND_RECV | Debug.NOTIFICATION)
        )
        self._log_packets = bool(flags & (Debug.PACKET_SEND | Debug.PACKET_RECV))
        self._update_bulk()

    def _update_bulk(self) -> None:
        """The fast path runs while relaying and logging no commands (with no capture it
        frames only: the limits are still checked and the redirects still found)."""
        on = not self._log_commands and self.state is RelayState.RELAYING
        for way in self._ways:
            way.framer.bulk = way.scanner if on else None

    @property
    def name(self) -> str:
        """``DS#1``, ``NS#2``, ``SB#3`` (``#4`` before the upstream is chosen)."""
        return connection_name(self.role, self.conn)

    @property
    def closed(self) -> bool:
        """True once the connection is over (both sides to be closed)."""
        return self.state is RelayState.CLOSED

    @property
    def redirect_pending(self) -> bool:
        """True between a ``RequestRedirect`` and its ``RedirectReady``."""
        return self._awaiting is not None

    @property
    def c2s_unframed(self) -> bool:
        """True from ``ForwardUnframed``: client chunks arrive forwarded already."""
        return self._ways[0].forwarded

    @property
    def pending(self) -> int:
        """Bytes buffered in both framers (a partial command each way)."""
        return sum(way.framer.pending for way in self._ways)

    def handle(self, event: Event) -> list[ProxyCommand]:
        """Process one event; return the commands to execute, in order."""
        out: list[ProxyCommand] = []
        self._handle_event(event, out)
        return out

    # -- states -------------------------------------------------------------------

    def _set_state(self, state: RelayState, handler: _Handler) -> None:
        self.state = state
        self._handle_event = handler

    def _waiting_first(self, event: Event, out: list[ProxyCommand]) -> None:
        if type(event) is not DataReceived or event.side is not Side.CLIENT:
            self._before_upstream(event, out)
            return
        events = self._read(event, out)
        self._held.extend((e, event.t) for e in events)
        for e in events:
            if type(e) is Command:
                self._set_state(RelayState.CONNECTING, self._connecting)
                out.append(OpenUpstream(first=e))
                return
            if isinstance(e, Desync):
                self._process_held(Batch(out), forward=False)
                return

    def _connecting(self, event: Event, out: list[ProxyCommand]) -> None:
        if type(event) is DataReceived and event.side is Side.CLIENT:
            self._held.extend((e, event.t) for e in self._read(event, out))
        elif type(event) is UpstreamOpened:
            self._on_upstream_opened(event, out)
        else:
            self._before_upstream(event, out)

    def _before_upstream(self, event: Event, out: list[ProxyCommand]) -> None:
        """What ends a connection before its upstream is open: the client, or Shutdown."""
        match event:
            case ConnectionClosed(side=Side.CLIENT, t=t, error=error):
                self._end_early("client", error or "closed before the upstream opened", t, out)
            case Shutdown(t=t, reason=reason):
                self._end_early("proxy", reason, t, out)
            case _:
                raise RuntimeError(f"{type(event).__name__} in state {self.state.value}")

    def _relaying(self, event: Event, out: list[ProxyCommand]) -> None:
        if type(event) is DataReceived:  # the hot path: one chunk
            way = self._ways[event.side is Side.UPSTREAM]
            if self._log_packets and self._debug & way.packet_flag:
                out.append(logs.packet(self.name, way, event.data))
            events = way.framer.feed(event.data)
            if not events:
                return
            if way.upstream and self._awaiting is not None:
                self._queued.extend((e, event.t) for e in events)
                return
            batch = Batch(out, forwarded=way.forwarded)
            self._process(way, events, event.t, batch)
            batch.flush(way.to)
            if not way.forwarded and not way.upstream:
                self._check_unframed(out)
            return
        match event:
            case ConnectionClosed():
                self._on_closed(event, out)
            case RedirectReady(address=address, t=t):
                self._on_redirect_ready(address, t, out)
            case Shutdown(t=t, reason=reason):
                batch = Batch(out)
                for way in self._ways:  # what was forwarded unframed is not sent again
                    batch.forwarded = way.forwarded
                    self._flush_framer(way, t, batch, forward=way.forwarded)
                batch.flush_records()
                if not self.closed:
                    self._finish("proxy", reason, t, out)
            case _:
                raise RuntimeError(f"{type(event).__name__} while relaying")

    def _closed(self, event: Event, out: list[ProxyCommand]) -> None:
        """Everything after the close is ignored."""

    # -- data ---------------------------------------------------------------------

    def _read(self, event: DataReceived, out: list[ProxyCommand]) -> list[FramerEvent]:
        way = self._ways[event.side is Side.UPSTREAM]
        if self._log_packets and self._debug & way.packet_flag:
            out.append(logs.packet(self.name, way, event.data))
        return way.framer.feed(event.data)

    def _check_unframed(self, out: list[ProxyCommand]) -> None:
        """Once relaying with no client byte held, client chunks go on before framing."""
        client = self._ways[0]
        if self.state is RelayState.RELAYING and not client.framer.pending:
            client.forwarded = True
            out.append(ForwardUnframed(side=Side.CLIENT))

    def _process(self, way: Way, events: list[FramerEvent], t: float, batch: Batch) -> None:
        """Forward and record ``events`` of ``way`` into ``batch`` (the caller flushes it);
        stops at a redirect (the rest is queued) or a desync (the connection closes)."""
        upstream = way.upstream
        record = self.record
        log = self._log_commands
        chunks = batch.chunks
        for index, event in enumerate(events):
            if type(event) is Command:
                if record:
                    batch.records.append(self._command_record(way, event, t))
                if log:
                    line = logs.command(self.name, way, self._debug, event, self.redactor)
                    if line is not None:
                        batch.logs.append(line)
                if upstream and event.verb in REDIRECT_VERBS:
                    info = find_redirect(event)
                    if info is not None:
                        batch.flush(way.to)
                        self._awaiting = (event, info)
                        self._queued[:0] = [(e, t) for e in events[index + 1 :]]
                        batch.out.append(
                            RequestRedirect(
                                target=info.address,
                                kind=info.kind,
                                via=info.via,
                                cookie=info.cookie,
                                sessid=info.sessid,
                            )
                        )
                        return
                chunks.append(event.raw or event.to_bytes())
            elif type(event) is CommandRun:
                # (only a framer given ``way.scanner`` as its bulk scanner makes these)
                if record and way.scanner is not None:
                    batch.records.append(way.scanner.run(event, t))
                chunks.append(event.raw)
            elif isinstance(event, Unparsed):
                self._unparsed(way, event, t, batch, forward=True)
            elif isinstance(event, Desync):
                batch.flush(way.to)
                self._desync(way, event, events[index + 1 :], t, batch)
                return
            # else: Passthrough after a desync; the connection is being closed

    def _command_record(self, way: Way, command: Command, t: float) -> records.Record:
        if self.redactor is not None and command.verb in SECRET_VERBS:
            redacted = self.redactor.redact(way.direction, command)
            if redacted is not None:
                return records.redacted_command_record(self.conn, way.dir, redacted, t)
        return records.command_record(self.conn, way.dir, command, t)

    def _unparsed(
        self, way: Way, event: Unparsed, t: float, batch: Batch, *, forward: bool
    ) -> None:
        conn, direction = self.conn, way.dir
        batch.records.append(records.error_record(conn, "unparsed", event.reason, t, direction))
        batch.records.append(
            records.raw_record(conn, direction, event.raw, event.reason, t, forwarded=forward)
        )
        if forward:
            batch.chunks.append(event.raw)
        batch.logs.append(logs.unparsed(self.name, direction, event, forwarded=forward))

    def _desync(
        self, way: Way, event: Desync, rest: list[FramerEvent], t: float, batch: Batch
    ) -> None:
        """A limit was exceeded: record it and what follows, then close the connection.

        Unframed client chunks were forwarded before they were framed (``batch.forwarded``):
        the server got the start of the offending line or payload, up to the end of the
        chunk; nothing after it is forwarded.
        """
        conn, direction = self.conn, way.dir
        found = [records.error_record(conn, "limit", event.reason, t, direction)]
        found.extend(
            records.raw_record(
                conn, direction, later.data, "after desync", t, forwarded=batch.forwarded
            )
            for later in rest
            if isinstance(later, Passthrough) and later.data
        )
        batch.out.append(WriteRecords(records=found))
        batch.out.append(logs.limit(self.name, direction, event.reason))
        self._finish("proxy", f"limit exceeded ({direction}): {event.reason}", t, batch.out)

    def _trace(self, out: list[ProxyCommand], flag: Debug, msg: str, *args: object) -> None:
        """A DEBUG ``Log`` under ``flag`` when it is on; ``msg`` starts with the name."""
        if self._debug & flag:
            out.append(logs.trace(flag, self.name, msg, *args))

    # -- upstream and redirects ---------------------------------------------------

    def _on_upstream_opened(self, event: UpstreamOpened, out: list[ProxyCommand]) -> None:
        self.role = event.role
        self.upstream = event.upstream
        t = event.t
        ready = t if event.error is None else None  # no connection made: no ``ready``
        out.append(WriteRecords(records=[self._open_record(event.parent, event.via, ready)]))
        if event.error is not None:
            message = f"cannot connect to {event.upstream}: {event.error}"
            out.append(
                WriteRecords(records=[records.error_record(self.conn, "connect", message, t)])
            )
            out.append(logs.connect_failed(self.name, event.role, event.upstream, event.error))
            self._process_held(Batch(out), forward=False)
            if not self.closed:
                self._finish("proxy", f"upstream connection failed: {event.error}", t, out)
            return
        via = f" (via {event.via} on #{event.parent})" if event.via else ""
        self._trace(out, Debug.OPEN, "%s %s connected to %s%s", self.client, event.upstream, via)
        self._set_state(RelayState.RELAYING, self._relaying)
        self._update_bulk()
        self._process_held(Batch(out), forward=True)
        self._check_unframed(out)

    def _process_held(self, batch: Batch, *, forward: bool) -> None:
        held, self._held = self._held, []
        client = self._ways[0]
        if forward:
            for event, t in held:  # one by one: each keeps its arrival time
                if self.closed:
                    break
                self._process(client, [event], t, batch)
            batch.flush(Side.UPSTREAM)
            return
        # Not forwarded (no upstream): still record every byte the client sent.
        if not self._open_recorded:
            batch.out.append(WriteRecords(records=[self._open_record(None, None)]))
        for event, t in held:
            if isinstance(event, Command):
                batch.records.append(self._command_record(client, event, t))
            elif isinstance(event, Unparsed):
                self._unparsed(client, event, t, batch, forward=False)
            elif isinstance(event, Desync):
                batch.flush_records()
                self._desync(client, event, [], t, batch)
                return
        batch.flush_records()

    def _open_record(
        self, parent: int | None, via: str | None, ready: float | None = None
    ) -> records.Record:
        self._open_recorded = True
        return records.open_record(
            self.conn,
            self.opened,
            role=self.role,
            client=self.client,
            upstream=self.upstream,
            parent=parent,
            via=via,
            ready=ready,
        )

    def _on_redirect_ready(self, address: str | None, t: float, out: list[ProxyCommand]) -> None:
        if self._awaiting is None:
            raise RuntimeError("RedirectReady without a pending RequestRedirect")
        command, info = self._awaiting
        self._awaiting = None
        batch = Batch(out)
        raw = command.raw or command.to_bytes()
        if address is None:
            message = f"redirect to {info.address} refused; forwarded unchanged"
            batch.records.append(records.error_record(self.conn, "rewrite", message, t, "s2c"))
            out.append(
                logs.confused(
                    self.name,
                    "%s cannot proxy the redirect to %s: the client will connect directly",
                    info.address,
                )
            )
            batch.chunks.append(raw)
        else:
            batch.chunks.append(replace_token(raw, info.token, address.encode("utf-8")))
            batch.records.append(
                records.rewrite_record(
                    self.conn,
                    t,
                    cmd=command.verb,
                    kind=info.kind,
                    original=info.address,
                    new=address,
                    cookie=info.cookie,
                    sessid=info.sessid,
                )
            )
            self._trace(
                out,
                Debug.HANDLER,
                "%s rewrote %s %s %s -> %s",
                command.verb,
                info.kind,
                info.address,
                address,
            )
        queued, self._queued = self._queued, []
        server = self._ways[1]
        for index, (event, qt) in enumerate(queued):
            self._process(server, [event], qt, batch)
            if self.redirect_pending or self.closed:
                self._queued[:0] = queued[index + 1 :]
                return
        batch.flush(Side.CLIENT)

    # -- closing ------------------------------------------------------------------

    def _flush_framer(self, way: Way, t: float, batch: Batch, *, forward: bool) -> None:
        for event in way.framer.close():
            if isinstance(event, Unparsed):
                self._unparsed(way, event, t, batch, forward=forward)

    def _end_early(self, by: str, reason: str, t: float, out: list[ProxyCommand]) -> None:
        """The connection ends before relaying: record what the client sent, and the close."""
        self._held.extend((e, t) for e in self._ways[0].framer.close())
        self._process_held(Batch(out), forward=False)
        if not self.closed:
            self._finish(by, reason, t, out)

    def _on_closed(self, event: ConnectionClosed, out: list[ProxyCommand]) -> None:
        t = event.t
        way = self._ways[event.side is Side.UPSTREAM]
        if way.upstream and self._awaiting is not None:
            self._on_redirect_ready(None, t, out)
            if self.closed:
                return
        # Unframed client chunks were forwarded already: the framer's leftovers too.
        batch = Batch(out, forwarded=way.forwarded)
        self._flush_framer(way, t, batch, forward=True)
        batch.flush(way.to)
        if self.closed_by is None:
            self.closed_by = way.by
            self._first_close = t
        if event.error is not None:
            self._finish(way.by, event.error, t, out)
            return
        self._eof.add(event.side)
        self._trace(out, Debug.CLOSE, "%s %s closed its side", event.side.value)
        if len(self._eof) == 2:
            first = self._first_close if self._first_close is not None else t
            self._finish(self.closed_by, "end of stream", first, out, finished=t)
        else:
            out.append(CloseSide(side=way.to, half_close=True))

    def _finish(
        self,
        by: str,
        reason: str,
        t: float,
        out: list[ProxyCommand],
        *,
        finished: float | None = None,
    ) -> None:
        self._set_state(RelayState.CLOSED, self._closed)
        for way in self._ways:
            way.forwarded = False
        self.closed_by = by
        self.close_reason = reason
        out.append(
            WriteRecords(
                records=[records.close_record(self.conn, by, reason, t, finished=finished)]
            )
        )
        self._trace(out, Debug.CLOSE, "%s closed by %s: %s", by, reason)
        out.append(CloseSide(side=Side.CLIENT, half_close=False))
        out.append(CloseSide(side=Side.UPSTREAM, half_close=False))
