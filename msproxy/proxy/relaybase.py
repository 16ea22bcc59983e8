"""msproxy/proxy/relaybase: what a relay knows and writes, apart from its state machine.

``RelayBase`` holds a relayed connection's identity (number, client, role, upstream), its
two ``Way`` s, the debug flags and the scanner path they allow, and builds the capture
records and log lines the state machine (``relay.Relay``) emits.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from msmgr.codec import Command, Desync, Dialect, Limits, Passthrough, Unparsed
from msmgr.codec import Event as FramerEvent
from msmgr.codec.redirect import RedirectInfo
from msmgr.debug import Debug
from msproxy.capture import records
from msproxy.view.names import connection_name
from msproxy.view.subject import Subject

from . import logs
from .commands import ProxyCommand
from .events import DataReceived, Event, Side
from .redact import SECRET_VERBS, Redactor
from .sends import Batch
from .ways import Way

Handler = Callable[[Event, list[ProxyCommand]], None]
"""A state of the relay: what an event does (appending the commands to execute)."""


class RelayState(enum.Enum):
    """Where a Relay is in the life of its connection."""

    WAITING_FIRST = "waiting-first"
    CONNECTING = "connecting"
    RELAYING = "relaying"
    CLOSED = "closed"


class RelayBase:
    """A relayed connection's data, records and log lines (``Relay`` adds the states).

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
        accelerate: the framers use the codec's C extension (``Framer(accelerate=...)``);
            None (the default): when it is built.
        console_runs: the driver's console takes ``LogRun`` commands: runs of ordinary
            commands stay on the fast path while commands are shown (the console parses
            them off the relay's path).
    """

    __slots__ = (
        "_awaiting",
        "_console_runs",
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
        accelerate: bool | None = None,
        console_runs: bool = False,
    ) -> None:
        self.conn = conn
        self._console_runs = console_runs
        self.opened = opened
        self.client = client
        self.redactor = redactor
        self.record = record
        self.dialect = Dialect()
        self._ways = tuple(
            Way(
                side,
                conn=conn,
                dialect=self.dialect,
                limits=limits,
                fast=fast,
                accelerate=accelerate,
                redact=redactor is not None,
            )
            for side in (Side.CLIENT, Side.UPSTREAM)
        )
        self._debug = Debug.NONE
        self._log_commands = False
        self._log_packets = False
        self.state = RelayState.WAITING_FIRST
        self._handle_event: Handler = self._waiting_first
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
        """The fast path runs while relaying, unless commands are logged one by one (with
        no capture it frames only: the limits are still checked and the redirects still
        found); with ``console_runs`` the console takes its runs as they are."""
        on = self.state is RelayState.RELAYING and (self._console_runs or not self._log_commands)
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

    def _read(self, event: DataReceived, out: list[ProxyCommand]) -> list[FramerEvent]:
        way = self._ways[event.side is Side.UPSTREAM]
        if self._log_packets and self._debug & way.packet_flag:
            out.append(logs.packet(self.name, way, event.data))
        return way.framer.feed(event.data)

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

    def _trace(
        self,
        out: list[ProxyCommand],
        flag: Debug,
        msg: str,
        *args: object,
        subject: Subject | None = None,
    ) -> None:
        """A DEBUG ``Log`` under ``flag`` when it is on; ``msg`` starts with the name."""
        if self._debug & flag:
            out.append(logs.trace(flag, self.name, msg, *args, subject=subject))

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

    def _flush_framer(self, way: Way, t: float, batch: Batch, *, forward: bool) -> None:
        for event in way.framer.close():
            if isinstance(event, Unparsed):
                self._unparsed(way, event, t, batch, forward=forward)

    def _desync_records(
        self, way: Way, event: Desync, rest: list[FramerEvent], t: float, *, forwarded: bool
    ) -> list[records.Record]:
        """The ``error`` of a limit exceeded, and the ``raw`` bytes after it."""
        conn, direction = self.conn, way.dir
        found = [records.error_record(conn, "limit", event.reason, t, direction)]
        found.extend(
            records.raw_record(conn, direction, later.data, "after desync", t, forwarded=forwarded)
            for later in rest
            if isinstance(later, Passthrough) and later.data
        )
        return found

    def _waiting_first(self, event: Event, out: list[ProxyCommand]) -> None:
        raise NotImplementedError  # the first state of ``Relay``
