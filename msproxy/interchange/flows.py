"""msproxy/interchange/flows: one TCP connection of a packet capture, and the capture
records of its two byte streams once it is known to be MSNP.

Each direction is framed by the proxy's tolerant framer (sharing the connection's
negotiated version), and becomes the records the proxy writes: ``cmd`` (redacted as the
proxy redacts), ``raw`` and ``error`` for what is not a command. What reassembly adds:
a ``Gap`` is an ``error`` of kind ``gap`` (the incomplete command before it a ``raw``
record), after which framing resumes at the next line that starts like a command
(earlier bytes are a ``raw`` record); a ``Conflict`` is an
``error`` of kind ``overlap``. Records are built with ``conn`` 0 until the connection
gets its number (``number``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from msmgr.codec import Command, Desync, Dialect, Direction, Framer, Limits, Passthrough, Unparsed
from msproxy.capture import Record, command_record, error_record, raw_record
from msproxy.capture.records import redacted_command_record
from msproxy.proxy.redact import Redactor

from .reassembly import Reassembler
from .recognise import Verdict
from .segments import Conflict, Delivered, Ended, Endpoint, Gap, Outcome

LIMITS = Limits(max_line=64 * 1024, max_payload=16 * 1024 * 1024)
"""Framing limits of an import: wider than the proxy's (nothing is forwarded here)."""


@dataclass(slots=True)
class Way:
    """One direction of an MSNP connection being framed."""

    direction: Direction
    framer: Framer
    resync: bool = False  # after a gap: bytes up to the next line end are not framed
    ended: tuple[float, bool] | None = None  # (when, by a reset)


@dataclass(slots=True)
class Flow:
    """One TCP connection of the packet capture, from its first packet on."""

    key: int  # the order of its first packet among the connections
    first_t: float
    initiator: Endpoint
    responder: Endpoint
    ends: dict[Endpoint, Reassembler]
    verdict: Verdict | None = None
    opening: dict[Endpoint, bytearray] = field(default_factory=dict)  # before the verdict
    pending: list[tuple[Endpoint, Outcome]] = field(default_factory=list)  # the same
    ways: dict[Endpoint, Way] = field(default_factory=dict)  # once MSNP
    records: list[Record] = field(default_factory=list)  # held until numbered
    number: int | None = None
    first_command: Command | None = None
    enders: list[Endpoint] = field(default_factory=list)  # the ways' ends, in order
    late: bool = False  # lost its place in the numbering (held too long undecided)
    done: bool = False  # its close record was made (or it is not MSNP and ended)

    @property
    def client(self) -> Endpoint:
        """The client (once MSNP)."""
        assert self.verdict is not None
        assert self.verdict.client is not None
        return self.verdict.client

    @property
    def server(self) -> Endpoint:
        """The server (once MSNP)."""
        return self.responder if self.client == self.initiator else self.initiator

    def other(self, endpoint: Endpoint) -> Endpoint:
        """The other side of the connection."""
        return self.responder if endpoint == self.initiator else self.initiator

    def start_framing(self) -> None:
        """The connection is MSNP: a framer per direction, sharing the version."""
        dialect = Dialect()
        for endpoint, direction in ((self.client, Direction.C2S), (self.server, Direction.S2C)):
            framer = Framer(direction, strict=False, dialect=dialect, limits=LIMITS)
            self.ways[endpoint] = Way(direction, framer)


_COMMAND_START = re.compile(rb"(?:[A-Z]{3}|[0-9]{3})(?: |\r?\n)")


def _line_start(data: bytes) -> int:
    """Where the first line of ``data`` that starts like a command begins (its size when
    none does): where framing resumes after a gap."""
    at = 0
    while at < len(data) and _COMMAND_START.match(data, at) is None:
        end = data.find(b"\n", at)
        at = len(data) if end < 0 else end + 1
    return at


class FlowRecorder:
    """Makes the records of an MSNP flow's outcomes (``redactor``: None keeps secrets)."""

    def __init__(self, redactor: Redactor | None) -> None:
        self.redactor = redactor

    def outcome(self, flow: Flow, sender: Endpoint, outcome: Outcome) -> list[Command]:
        """Add the records of ``outcome`` of ``sender``'s direction to ``flow.records``;
        the server commands among them (for the redirect bookkeeping)."""
        way = flow.ways[sender]
        d = way.direction.value
        out = flow.records
        if isinstance(outcome, Delivered):
            return self._data(flow, way, outcome.data, outcome.t)
        if isinstance(outcome, Gap):
            self.cut(flow, way, outcome.t, "the start of a command, cut by a gap")
            message = (
                f"{outcome.size} bytes missing from the packet capture; "
                "framing resumes at the next line"
            )
            out.append(error_record(0, "gap", message, outcome.t, d))
            dialect = way.framer.dialect
            way.framer = Framer(way.direction, strict=False, dialect=dialect, limits=LIMITS)
            way.resync = True
        elif isinstance(outcome, Conflict):
            message = (
                f"a retransmitted segment differs from the first copy in {outcome.size} "
                "bytes (the first copy is kept)"
            )
            out.append(error_record(0, "overlap", message, outcome.t, d))
        elif isinstance(outcome, Ended):
            self.cut(flow, way, outcome.t, "the incomplete end of the stream")
            way.ended = (outcome.t, outcome.reset)
            flow.enders.append(sender)
        return []

    def cut(self, flow: Flow, way: Way, t: float, reason: str) -> None:
        """A ``raw`` record of the incomplete command ``way``'s framer holds, if any."""
        for event in way.framer.close():
            if isinstance(event, Unparsed):
                flow.records.append(raw_record(0, way.direction.value, event.raw, reason, t))

    def _data(self, flow: Flow, way: Way, data: bytes, t: float) -> list[Command]:
        d = way.direction.value
        out = flow.records
        if way.resync:
            start = _line_start(data)
            if start:
                out.append(raw_record(0, d, data[:start], "after a gap (not a command)", t))
            if start == len(data):
                return []
            way.resync = False
            data = data[start:]
        server_commands: list[Command] = []
        for event in way.framer.feed(data):
            if isinstance(event, Command):
                out.append(self._command(way, event, t))
                if way.direction is Direction.S2C:
                    server_commands.append(event)
                elif flow.first_command is None:
                    flow.first_command = event
            elif isinstance(event, Unparsed):
                out.append(error_record(0, "unparsed", event.reason, t, d))
                out.append(raw_record(0, d, event.raw, event.reason, t))
            elif isinstance(event, Desync):
                out.append(error_record(0, "limit", event.reason, t, d))
            elif isinstance(event, Passthrough) and event.data:
                out.append(raw_record(0, d, event.data, "after desync", t))
        return server_commands

    def _command(self, way: Way, command: Command, t: float) -> Record:
        if self.redactor is not None:
            redacted = self.redactor.redact(way.direction, command)
            if redacted is not None:
                return redacted_command_record(0, way.direction.value, redacted, t)
        return command_record(0, way.direction.value, command, t)
