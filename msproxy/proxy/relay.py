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
relaying with no command shown, runs of ordinary commands are framed by the capture's
scanner (``Framer.bulk``, ``msproxy.capture.scan``: in C when built, else in Python, the
same records).
"""

from __future__ import annotations

from msmgr.codec import Command, CommandRun, Desync, Unparsed
from msmgr.codec import Event as FramerEvent
from msmgr.codec.redirect import find_redirect, replace_token
from msmgr.debug import Debug
from msproxy.capture import records
from msproxy.view.subject import Subject

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
from .relaybase import Handler, RelayBase, RelayState
from .sends import Batch
from .ways import REDIRECT_VERBS, Way

__all__ = ["Relay", "RelayState"]


class Relay(RelayBase):
    """The state of one proxied client connection; feed it events with ``handle``
    (the arguments: ``RelayBase``)."""

    __slots__ = ()

    def handle(self, event: Event) -> list[ProxyCommand]:
        """Process one event; return the commands to execute, in order."""
        out: list[ProxyCommand] = []
        self._handle_event(event, out)
        return out

    # -- states -------------------------------------------------------------------

    def _set_state(self, state: RelayState, handler: Handler) -> None:
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
            case RedirectReady(address=address, t=t, why=why):
                self._on_redirect_ready(address, t, out, why)
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
                    line = logs.command(
                        self.name,
                        way,
                        self._debug,
                        event,
                        self.redactor,
                        conn=self.conn,
                        role=self.role,
                    )
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
                if record:
                    batch.records.append(way.scanner.run(event, t))
                if log:  # (only with console_runs: else runs are not made while logging)
                    shown = logs.run(
                        self.name,
                        way,
                        self._debug,
                        event,
                        conn=self.conn,
                        role=self.role,
                        dialect=self.dialect,
                    )
                    if shown is not None:
                        batch.logs.append(shown)
                chunks.append(event.raw)
            elif isinstance(event, Unparsed):
                self._unparsed(way, event, t, batch, forward=True)
            elif isinstance(event, Desync):
                batch.flush(way.to)
                self._desync(way, event, events[index + 1 :], t, batch)
                return
            # else: Passthrough after a desync; the connection is being closed

    def _desync(
        self, way: Way, event: Desync, rest: list[FramerEvent], t: float, batch: Batch
    ) -> None:
        """A limit was exceeded: record it and what follows, then close the connection.

        Unframed client chunks were forwarded before they were framed (``batch.forwarded``):
        the server got the start of the offending line or payload, up to the end of the
        chunk; nothing after it is forwarded.
        """
        direction = way.dir
        found = self._desync_records(way, event, rest, t, forwarded=batch.forwarded)
        batch.out.append(WriteRecords(records=found))
        batch.out.append(logs.limit(self.name, direction, event.reason))
        self._finish("proxy", f"limit exceeded ({direction}): {event.reason}", t, batch.out)

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
        via = f" parent=#{event.parent} via={event.via}" if event.via else ""
        opened = Subject("open", self.conn, role=event.role, parent=event.parent)
        self._trace(
            out,
            Debug.OPEN,
            "%s ** open %s client=%s upstream=%s%s",
            event.role,
            self.client,
            event.upstream,
            via,
            subject=opened,
        )
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

    def _on_redirect_ready(
        self, address: str | None, t: float, out: list[ProxyCommand], why: str | None = None
    ) -> None:
        if self._awaiting is None:
            raise RuntimeError("RedirectReady without a pending RequestRedirect")
        command, info = self._awaiting
        self._awaiting = None
        batch = Batch(out)
        raw = command.raw or command.to_bytes()
        if address is None:
            because = f" ({why})" if why else ""
            message = f"redirect to {info.address} refused{because}; forwarded unchanged"
            batch.records.append(records.error_record(self.conn, "rewrite", message, t, "s2c"))
            out.append(logs.confused(self.name, "%s !! error rewrite (s2c): %s", message))
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
                "%s ** rewrite %s %s => %s",
                command.verb,
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
        self._trace(
            out,
            Debug.CLOSE,
            "%s ** %s closed its side",
            event.side.value,
            subject=Subject("close", self.conn, role=self.role),
        )
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
        self._trace(
            out,
            Debug.CLOSE,
            "%s ** close by %s: %s",
            by,
            reason,
            subject=Subject("close", self.conn, role=self.role),
        )
        out.append(CloseSide(side=Side.CLIENT, half_close=False))
        out.append(CloseSide(side=Side.UPSTREAM, half_close=False))
