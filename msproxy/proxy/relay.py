"""msproxy/proxy/relay: the sans-IO core of one proxied connection (events in, commands out).

Strategy:

* Two tolerant ``Framer`` s (client to server, server to client) share one ``Dialect``.
  What goes out to the other side is the ``raw`` of each parsed event, so every byte is
  forwarded exactly as it arrived; a server command is forwarded once it is complete,
  which is what lets the relay rewrite an ``XFR``/``RNG`` line before the client sees it.
* Client bytes are never rewritten: once relaying with no client byte held (``raw_c2s``),
  each client chunk is forwarded whole as it arrives, and framed only for the capture;
  the driver may send it itself before calling ``data_received(..., forwarded=True)``.
* The only change ever made is the address token of ``XFR NS``, ``XFR SB`` and ``RNG``
  (see ``rewrite``). The capture keeps the command as received, then a ``rewrite`` record.
* States: WAITING_FIRST (no upstream yet: the client's first command decides where to
  connect, ``OpenUpstream``), CONNECTING (client bytes held until ``UpstreamOpened``),
  RELAYING, CLOSED. A redirect blocks the server-to-client direction between
  ``RequestRedirect`` and ``RedirectReady``; later events of that direction wait.
* Every command becomes a capture record (secrets replaced when a ``Redactor`` is
  given), lines that are not commands become ``raw`` + ``error`` records, and one
  ``WriteRecords`` batch is emitted per received chunk, *after* the ``SendData`` that
  forwards it (so is its console logging): nothing stands between a chunk and its
  forward. The driver executes the ``WriteRecords`` even when that forward fails or is
  cancelled, so every command read is recorded.
* The ``open`` record carries the accept time (``opened``) and is written before any
  other record of the connection (``ready``: when the upstream connection was made).
  The ``close`` record's ``t`` is when the first side ended (``by`` says which:
  ``client``, ``server`` or ``proxy``); ``finished`` is when the other side was done too.
* A line or payload over the limits (``Desync``) closes the connection: ``error`` and
  ``close`` records, both sides closed. With raw client chunks the limit is seen after
  the chunk holding the breach was forwarded: the server got the start of the long line
  or payload up to the end of that chunk (its ``raw`` records have no ``forwarded:
  false``), and nothing after it.
* Runs of ordinary commands: while relaying with no command logging, each framer hands
  them to a ``RecordScanner`` (in C when built and ``fast`` allows, else in Python: the
  same records), which frames them without ``Command`` objects (``CommandRun`` events);
  their records are queued as one ``ScannedRun`` each, written when the capture writer
  encodes. Redirects, commands with secrets and anything unusual still come out as
  ``Command`` objects, one ``cmd`` record each.
* Log commands: COMMAND_SEND for client commands, COMMAND_RECV for server commands (the
  proxy stands where the client's library would), PACKET_SEND / PACKET_RECV for the bytes
  of each chunk, NOTIFICATION for list/presence commands when the COMMAND flag of that
  direction is off, OPEN / CLOSE for the connection, HANDLER for routing and rewrites,
  CONFUSED (always, at WARNING) for malformed traffic and limits.
"""

from __future__ import annotations

import enum
import logging

from msmgr.codec import (
    Command,
    CommandRun,
    Desync,
    Dialect,
    Direction,
    Framer,
    Limits,
    Passthrough,
    Unparsed,
)
from msmgr.codec import Event as FramerEvent
from msmgr.codec.redirect import RedirectInfo, find_redirect, replace_token
from msmgr.debug import NOTIFICATION_VERBS, Debug
from msproxy.capture import Record, command_record, put_bytes
from msproxy.capture.encode import RecordRun
from msproxy.capture.scan import RecordScanner
from msproxy.view.console import ARROWS, command_text, hexdump
from msproxy.view.names import connection_name

from .commands import (
    CloseSide,
    Log,
    OpenUpstream,
    ProxyCommand,
    RequestRedirect,
    SendData,
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
from .redact import SECRET_PREFIXES, SECRET_VERBS, Redactor

_REDIRECT_VERBS = frozenset({"XFR", "RNG"})
# What the fast path leaves to the Python path, per side (``RecordScanner(slow=...)``).
_SLOW_ALWAYS = {Side.CLIENT: (), Side.UPSTREAM: tuple(sorted(_REDIRECT_VERBS))}
_DIRECTION = {Side.CLIENT: Direction.C2S, Side.UPSTREAM: Direction.S2C}
_DIR = {Side.CLIENT: "c2s", Side.UPSTREAM: "s2c"}
_BY = {Side.CLIENT: "client", Side.UPSTREAM: "server"}
_COMMAND_FLAG = {Side.CLIENT: Debug.COMMAND_SEND, Side.UPSTREAM: Debug.COMMAND_RECV}
_PACKET_FLAG = {Side.CLIENT: Debug.PACKET_SEND, Side.UPSTREAM: Debug.PACKET_RECV}


class _Way:
    """What the relay keeps per direction, looked up once per chunk (no enum hashing)."""

    __slots__ = (
        "by",
        "command_flag",
        "dir",
        "direction",
        "framer",
        "packet_flag",
        "scanner",
        "to",
    )

    def __init__(self, side: Side, framer: Framer, scanner: RecordScanner | None) -> None:
        self.framer = framer
        self.scanner = scanner
        self.to = side.other
        self.dir = _DIR[side]
        self.direction = _DIRECTION[side]
        self.by = _BY[side]
        self.command_flag = _COMMAND_FLAG[side]
        self.packet_flag = _PACKET_FLAG[side]


class RelayState(enum.Enum):
    """Where a Relay is in the life of its connection."""

    WAITING_FIRST = "waiting-first"
    CONNECTING = "connecting"
    RELAYING = "relaying"
    CLOSED = "closed"


SEND_ALONE = 64 * 1024
"""Bytes from which a piece to forward is sent as it is, not joined to its neighbours
(joining copies it: for a big run of commands that costs more than a system call)."""


def _coalesced(chunks: list[bytes | memoryview]) -> list[bytes | memoryview]:
    """The pieces to forward, in order: small neighbours joined (one system call), big
    pieces alone (no copy)."""
    if len(chunks) == 1:
        return chunks
    out: list[bytes | memoryview] = []
    small: list[bytes | memoryview] = []
    for chunk in chunks:
        if len(chunk) < SEND_ALONE:
            small.append(chunk)
            continue
        if small:
            out.append(small[0] if len(small) == 1 else b"".join(small))
            small = []
        out.append(chunk)
    if small:
        out.append(small[0] if len(small) == 1 else b"".join(small))
    return out


class _Batch:
    """What one event produces, flushed in order: the bytes to forward first, then the
    capture records and log lines describing them."""

    __slots__ = ("chunks", "forwarded", "logs", "out", "records")

    def __init__(self, out: list[ProxyCommand], *, forwarded: bool = False) -> None:
        self.out = out
        # True: the bytes were forwarded already (raw client chunks): record, send nothing.
        self.forwarded = forwarded
        self.chunks: list[bytes | memoryview] = []
        self.records: list[Record | RecordRun] = []
        self.logs: list[ProxyCommand] = []

    def flush(self, to: Side) -> None:
        # Forward first: nothing is built or queued between a chunk and its forward.
        # The driver still executes the WriteRecords after a send that fails or is
        # cancelled (``Session._execute``), so every command read is recorded.
        if self.chunks:
            if not self.forwarded:
                self.out.extend(SendData(side=to, data=data) for data in _coalesced(self.chunks))
            self.chunks = []
        self.flush_records()

    def flush_records(self) -> None:
        if self.records:
            self.out.append(WriteRecords(records=self.records))
            self.records = []
        if self.logs:
            self.out.extend(self.logs)
            self.logs = []


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
            C extension (``RecordScanner(accelerate=...)``); None (the default): when it
            is built; True without it raises RuntimeError.
    """

    __slots__ = (
        "_awaiting",
        "_debug",
        "_eof",
        "_first_close",
        "_framers",
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
        "raw_c2s",
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
        self._framers = {
            Side.CLIENT: Framer(Direction.C2S, strict=False, dialect=self.dialect, limits=limits),
            Side.UPSTREAM: Framer(Direction.S2C, strict=False, dialect=self.dialect, limits=limits),
        }
        self._ways = tuple(
            _Way(side, self._framers[side], self._scanner(side, limits, fast))
            for side in (Side.CLIENT, Side.UPSTREAM)
        )
        self._debug = Debug.NONE
        self._log_commands = False
        self._log_packets = False
        self.state = RelayState.WAITING_FIRST
        self.debug = debug
        self.raw_c2s = False
        self.role: str | None = None
        self.upstream: str | None = None
        self.closed_by: str | None = None
        self.close_reason: str | None = None
        self._held: list[tuple[FramerEvent, float]] = []
        self._queued: list[tuple[FramerEvent, float]] = []
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

    def _scanner(self, side: Side, limits: Limits | None, fast: bool | None) -> RecordScanner:
        direction = _DIRECTION[side]
        secrets = SECRET_PREFIXES[direction] if self.redactor is not None else ()
        slow = _SLOW_ALWAYS[side] + secrets
        return RecordScanner(self.conn, direction, slow=slow, limits=limits, accelerate=fast)

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
    def pending(self) -> int:
        """Bytes buffered in both framers (a partial command each way)."""
        return sum(f.pending for f in self._framers.values())

    def handle(self, event: Event) -> list[ProxyCommand]:
        """Process one event; return the commands to execute, in order."""
        if type(event) is DataReceived:
            return self.data_received(event.side, event.data, event.t)
        out: list[ProxyCommand] = []
        match event:
            case ConnectionClosed():
                self._on_closed(event, out)
            case UpstreamOpened():
                self._on_upstream_opened(event, out)
            case RedirectReady(address=address, t=t):
                self._on_redirect_ready(address, t, out)
            case Shutdown(t=t, reason=reason):
                if not self.closed:
                    batch = _Batch(out)
                    if self.state is RelayState.RELAYING:
                        for side in Side:
                            # Raw client chunks were forwarded: their leftovers too.
                            raw = side is Side.CLIENT and self.raw_c2s
                            batch.forwarded = raw
                            self._flush_framer(side, t, batch, forward=raw)
                    else:
                        self._held.extend((e, t) for e in self._framers[Side.CLIENT].close())
                        self._process_held(batch, forward=False)
                    batch.flush_records()
                    if not self.closed:
                        self._finish("proxy", reason, t, out)
        return out

    # -- data ---------------------------------------------------------------------

    def data_received(
        self, side: Side, data: bytes | bytearray, t: float = 0.0, *, forwarded: bool = False
    ) -> list[ProxyCommand]:
        """``handle(DataReceived(side=side, data=data, t=t))``, without the event object
        (the driver's hot path).

        ``forwarded``: the driver has sent this client chunk to the upstream already, as
        it may while ``raw_c2s`` is true; the relay then only frames and records it.
        """
        out: list[ProxyCommand] = []
        if self.state is RelayState.CLOSED:
            return out
        way = self._ways[side is Side.UPSTREAM]
        if self._log_packets and self._debug & way.packet_flag:
            out.append(
                Log(
                    flag=way.packet_flag,
                    level=logging.DEBUG,
                    msg="%s %s %d bytes\n%s",
                    args=(self.name, ARROWS[way.dir], len(data), hexdump(data)),
                )
            )
        if self.raw_c2s and side is Side.CLIENT:
            if data and not forwarded:
                out.append(SendData(side=Side.UPSTREAM, data=bytes(data)))
            events = way.framer.feed(data)
            if events:
                batch = _Batch(out, forwarded=True)
                self._process(side, events, t, out, batch)
                batch.flush(Side.UPSTREAM)
            return out
        if forwarded:
            raise RuntimeError("a client chunk was forwarded before the relay allowed it")
        events = way.framer.feed(data)
        if not events:
            return out
        if self.state is RelayState.RELAYING and not (side is Side.UPSTREAM and self._awaiting):
            self._process(side, events, t, out)
            if side is Side.CLIENT:
                self._check_raw_c2s()
            return out
        self._on_early_events(side, events, t, out)
        return out

    def _check_raw_c2s(self) -> None:
        """From now on client chunks may be forwarded as they come, before framing: once
        relaying, with every client byte read so far forwarded (none buffered)."""
        if self.state is RelayState.RELAYING and not self._framers[Side.CLIENT].pending:
            self.raw_c2s = True

    def _on_early_events(
        self, side: Side, events: list[FramerEvent], t: float, out: list[ProxyCommand]
    ) -> None:
        if side is Side.UPSTREAM:
            self._queued.extend((e, t) for e in events)
            return
        # Client bytes before the upstream is open: hold them; the first command routes.
        first = self.state is RelayState.WAITING_FIRST
        self._held.extend((e, t) for e in events)
        if first:
            for event, _ in self._held:
                if isinstance(event, Command):
                    self.state = RelayState.CONNECTING
                    out.append(OpenUpstream(first=event))
                    return
                if isinstance(event, Desync):
                    batch = _Batch(out)
                    self._process_held(batch, forward=False)
                    return

    def _process(
        self,
        side: Side,
        events: list[FramerEvent],
        t: float,
        out: list[ProxyCommand],
        batch: _Batch | None = None,
    ) -> None:
        own = batch is None
        if batch is None:
            batch = _Batch(out)
        way = self._ways[side is Side.UPSTREAM]
        to = way.to
        upstream = side is Side.UPSTREAM
        record = self.record
        log = self._log_commands
        chunks = batch.chunks
        for index, event in enumerate(events):
            if type(event) is Command:
                if record:
                    batch.records.append(self._command_record(way, event, t))
                if log:
                    self._log_command(way, event, batch.logs)
                if upstream and event.verb in _REDIRECT_VERBS:
                    info = find_redirect(event)
                    if info is not None:
                        batch.flush(to)
                        self._awaiting = (event, info)
                        self._queued[:0] = [(e, t) for e in events[index + 1 :]]
                        out.append(
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
                self._unparsed(side, event, t, batch, forward=True)
            elif isinstance(event, Desync):
                batch.flush(to)
                self._desync(side, event, events[index + 1 :], t, out, forwarded=batch.forwarded)
                return
            # else: Passthrough after a desync; the connection is being closed
        if own:
            batch.flush(to)

    def _command_record(self, way: _Way, command: Command, t: float) -> Record:
        redacted = None
        if self.redactor is not None and command.verb in SECRET_VERBS:
            redacted = self.redactor.redact(way.direction, command)
        record = command_record(self.conn, way.dir, redacted or command, t)
        if redacted is not None:
            record["redacted"] = True
        return record

    def _log_command(self, way: _Way, command: Command, out: list[ProxyCommand]) -> None:
        flag = way.command_flag
        debug = self._debug
        if not debug & flag:
            if not (debug & Debug.NOTIFICATION and command.verb in NOTIFICATION_VERBS):
                return
            flag = Debug.NOTIFICATION
        shown = command
        if self.redactor is not None and command.verb in SECRET_VERBS:
            shown = self.redactor.redact(way.direction, command) or command
        out.append(
            Log(
                flag=flag,
                level=logging.DEBUG,
                msg="%s %s %s",
                args=(self.name, ARROWS[way.dir], command_text(shown)),
            )
        )

    def _unparsed(
        self,
        side: Side,
        event: Unparsed,
        t: float,
        batch: _Batch,
        *,
        forward: bool,
    ) -> None:
        direction = _DIR[side]
        raw = self._raw_record(direction, event.raw, event.reason, t, forwarded=forward)
        error = self._error_record("unparsed", event.reason, t, direction)
        batch.records.extend((error, raw))
        if forward:
            batch.chunks.append(event.raw)
        batch.logs.append(
            Log(
                flag=Debug.CONFUSED,
                level=logging.WARNING,
                msg="%s %s %s (%d bytes%s): %r",
                args=(
                    self.name,
                    ARROWS[direction],
                    event.reason,
                    len(event.raw),
                    "" if forward else ", not forwarded",
                    event.raw[:80],
                ),
            )
        )

    def _trace(self, out: list[ProxyCommand], flag: Debug, msg: str, *args: object) -> None:
        """A DEBUG ``Log`` under ``flag`` when it is on; ``msg`` starts with the connection name."""
        if self._debug & flag:
            out.append(Log(flag=flag, level=logging.DEBUG, msg=msg, args=(self.name, *args)))

    def _error_record(
        self, kind: str, message: str, t: float, direction: str | None = None
    ) -> Record:
        """An ``error`` record of this connection (``dir`` only when one direction is meant)."""
        record: Record = {"type": "error", "t": t, "conn": self.conn}
        if direction is not None:
            record["dir"] = direction
        record["kind"] = kind
        record["message"] = message
        return record

    def _raw_record(
        self, direction: str, data: bytes, reason: str, t: float, *, forwarded: bool
    ) -> Record:
        """A ``raw`` record: bytes of ``direction`` that are not a command (``reason`` why)."""
        record: Record = {"type": "raw", "t": t, "conn": self.conn, "dir": direction}
        put_bytes(record, "data", data)
        record["reason"] = reason
        if not forwarded:
            record["forwarded"] = False
        return record

    def _desync(
        self,
        side: Side,
        event: Desync,
        rest: list[FramerEvent],
        t: float,
        out: list[ProxyCommand],
        *,
        forwarded: bool = False,
    ) -> None:
        """A limit was exceeded: record it and what follows, then close the connection.

        ``forwarded``: the bytes of this chunk were forwarded before it was framed (raw
        client chunks): the server got the start of the offending line or payload, up to
        the end of the chunk; nothing after it is forwarded.
        """
        direction = _DIR[side]
        records = [self._error_record("limit", event.reason, t, direction)]
        records.extend(
            self._raw_record(direction, later.data, "after desync", t, forwarded=forwarded)
            for later in rest
            if isinstance(later, Passthrough) and later.data
        )
        out.append(WriteRecords(records=records))
        out.append(
            Log(
                flag=Debug.CONFUSED,
                level=logging.WARNING,
                msg="%s %s %s: closing the connection",
                args=(self.name, ARROWS[direction], event.reason),
            )
        )
        self._finish("proxy", f"limit exceeded ({direction}): {event.reason}", t, out)

    # -- upstream and redirects ---------------------------------------------------

    def _on_upstream_opened(self, event: UpstreamOpened, out: list[ProxyCommand]) -> None:
        if self.state is not RelayState.CONNECTING:
            raise RuntimeError(f"UpstreamOpened in state {self.state.value}")
        self.role = event.role
        self.upstream = event.upstream
        t = event.t
        ready = t if event.error is None else None  # no connection made: no ``ready``
        out.append(WriteRecords(records=[self._open_record(event.parent, event.via, ready=ready)]))
        if event.error is not None:
            message = f"cannot connect to {event.upstream}: {event.error}"
            out.append(WriteRecords(records=[self._error_record("connect", message, t)]))
            out.append(
                Log(
                    flag=Debug.OPEN,
                    level=logging.WARNING,
                    msg="%s cannot connect to %s %s: %s",
                    args=(self.name, event.role, event.upstream, event.error),
                )
            )
            batch = _Batch(out)
            self._process_held(batch, forward=False)
            if not self.closed:
                self._finish("proxy", f"upstream connection failed: {event.error}", t, out)
            return
        via = f" (via {event.via} on #{event.parent})" if event.via else ""
        self._trace(out, Debug.OPEN, "%s %s connected to %s%s", self.client, event.upstream, via)
        self.state = RelayState.RELAYING
        self._update_bulk()
        self._process_held(_Batch(out), forward=True)
        self._check_raw_c2s()

    def _process_held(self, batch: _Batch, *, forward: bool) -> None:
        held, self._held = self._held, []
        if forward:
            # Group consecutive held events by time so records keep their arrival time.
            for event, t in held:
                if self.closed:
                    break
                self._process(Side.CLIENT, [event], t, batch.out, batch)
            batch.flush(Side.UPSTREAM)
            return
        # Not forwarded (no upstream): still record every byte the client sent.
        if not self._open_recorded:
            batch.out.append(WriteRecords(records=[self._open_record(None, None)]))
        for event, t in held:
            if isinstance(event, Command):
                batch.records.append(self._command_record(self._ways[0], event, t))
            elif isinstance(event, Unparsed):
                self._unparsed(Side.CLIENT, event, t, batch, forward=False)
            elif isinstance(event, Desync):
                batch.flush_records()
                self._desync(Side.CLIENT, event, [], t, batch.out)
                return
        batch.flush_records()

    def _open_record(
        self, parent: int | None, via: str | None, *, ready: float | None = None
    ) -> Record:
        self._open_recorded = True
        record: Record = {
            "type": "open",
            "t": self.opened,
            "conn": self.conn,
            "role": self.role,
            "client": self.client,
            "upstream": self.upstream,
            "parent": parent,
            "via": via,
        }
        if ready is not None:
            record["ready"] = ready
        return record

    def _on_redirect_ready(self, address: str | None, t: float, out: list[ProxyCommand]) -> None:
        if self._awaiting is None:
            raise RuntimeError("RedirectReady without a pending RequestRedirect")
        command, info = self._awaiting
        self._awaiting = None
        batch = _Batch(out)
        raw = command.raw or command.to_bytes()
        if address is None:
            message = f"redirect to {info.address} refused; forwarded unchanged"
            batch.records.append(self._error_record("rewrite", message, t, "s2c"))
            out.append(
                Log(
                    flag=Debug.CONFUSED,
                    level=logging.WARNING,
                    msg="%s cannot proxy the redirect to %s: the client will connect directly",
                    args=(self.name, info.address),
                )
            )
            batch.chunks.append(raw)
        else:
            batch.chunks.append(replace_token(raw, info.token, address.encode("utf-8")))
            rewrite: Record = {
                "type": "rewrite",
                "t": t,
                "conn": self.conn,
                "dir": "s2c",
                "cmd": command.verb,
                "kind": info.kind,
                "original": info.address,
                "new": address,
            }
            if info.cookie is not None:
                rewrite["cookie"] = info.cookie
            if info.sessid is not None:
                rewrite["sessid"] = info.sessid
            batch.records.append(rewrite)
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
        if not queued:
            batch.flush(Side.CLIENT)
            return
        for index, (event, qt) in enumerate(queued):
            self._process(Side.UPSTREAM, [event], qt, out, batch)
            if self.redirect_pending or self.closed:
                self._queued[:0] = queued[index + 1 :]
                return
        batch.flush(Side.CLIENT)

    # -- closing ------------------------------------------------------------------

    def _flush_framer(self, side: Side, t: float, batch: _Batch, *, forward: bool) -> None:
        for event in self._framers[side].close():
            if isinstance(event, Unparsed):
                self._unparsed(side, event, t, batch, forward=forward)

    def _on_closed(self, event: ConnectionClosed, out: list[ProxyCommand]) -> None:
        if self.closed:
            return
        side, t = event.side, event.t
        # Raw client chunks were forwarded already: the framer's leftovers too.
        batch = _Batch(out, forwarded=side is Side.CLIENT and self.raw_c2s)
        if self.state is not RelayState.RELAYING:
            # Before the upstream opened (only the client can close then).
            self._held.extend((e, t) for e in self._framers[side].close())
            self._process_held(batch, forward=False)
            if not self.closed:
                self._finish(_BY[side], event.error or "closed before the upstream opened", t, out)
            return
        if side is Side.UPSTREAM and self._awaiting is not None:
            self._on_redirect_ready(None, t, out)
        self._flush_framer(side, t, batch, forward=True)
        batch.flush(side.other)
        if self.closed_by is None:
            self.closed_by = _BY[side]
            self._first_close = t
        if event.error is not None:
            self._finish(_BY[side], event.error, t, out)
            return
        self._eof.add(side)
        self._trace(out, Debug.CLOSE, "%s %s closed its side", side.value)
        if len(self._eof) == 2:
            first = self._first_close if self._first_close is not None else t
            self._finish(self.closed_by, "end of stream", first, out, finished=t)
        else:
            out.append(CloseSide(side=side.other, half_close=True))

    def _finish(
        self,
        by: str,
        reason: str,
        t: float,
        out: list[ProxyCommand],
        *,
        finished: float | None = None,
    ) -> None:
        self.state = RelayState.CLOSED
        self.raw_c2s = False
        self.closed_by = by
        self.close_reason = reason
        record: Record = {"type": "close", "t": t, "conn": self.conn, "by": by}
        record["reason"] = reason
        if finished is not None:
            record["finished"] = finished
        out.append(WriteRecords(records=[record]))
        self._trace(out, Debug.CLOSE, "%s closed by %s: %s", by, reason)
        out.append(CloseSide(side=Side.CLIENT, half_close=False))
        out.append(CloseSide(side=Side.UPSTREAM, half_close=False))
