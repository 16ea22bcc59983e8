"""msproxy/proxy/commands: what a ``Relay`` asks its driver to do (commands out)."""

from __future__ import annotations

from dataclasses import dataclass

from msmgr.codec import Command, Direction
from msmgr.debug import Debug
from msproxy.capture import Record as CaptureRecord
from msproxy.capture import command_record

from .events import Side
from .redact import Redactor


@dataclass(frozen=True, slots=True, kw_only=True)
class SendData:
    """Write ``data`` to ``side`` (await it before reading more: that is the backpressure)."""

    side: Side
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseSide:
    """Close ``side``: only its sending half (``half_close``) or the whole connection."""

    side: Side
    half_close: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenUpstream:
    """The client's first command arrived: choose the upstream and connect (blocking).

    The driver routes on ``first`` (an SB cookie in ``USR``/``ANS``, or ``VER`` after an
    ``XFR NS``) and replies with ``UpstreamOpened``.
    """

    first: Command


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRedirect:
    """The upstream sent ``XFR``/``RNG`` naming ``target``: remember it (blocking).

    The driver stores the pending redirect (keyed by ``cookie`` for SB, by the client's
    address for NS) and replies with ``RedirectReady`` giving the address to tell the client.
    """

    target: str
    kind: str  # "NS" or "SB"
    via: str  # "XFR" or "RNG"
    cookie: str | None = None
    sessid: str | None = None


class CommandSeen:
    """A command read on connection ``conn``, whose ``cmd`` record is built only when it
    is written (``record``): the capture sink's task does that work, off the path between
    a received chunk and its forward."""

    __slots__ = ("command", "conn", "dir", "direction", "redactor", "t")

    def __init__(
        self,
        conn: int,
        dir: str,  # noqa: A002 - the record's key
        direction: Direction,
        command: Command,
        t: float,
        redactor: Redactor | None,
    ) -> None:
        self.conn = conn
        self.dir = dir
        self.direction = direction
        self.command = command
        self.t = t
        self.redactor = redactor  # None: nothing to redact (no redactor, or not USR/MSG)

    def record(self) -> CaptureRecord:
        """The ``cmd`` record (secrets replaced when a redactor was given)."""
        command = self.command
        redacted = None
        if self.redactor is not None:
            redacted = self.redactor.redact(self.direction, command)
        record = command_record(self.conn, self.dir, redacted or command, self.t)
        if redacted is not None:
            record["redacted"] = True
        return record


RecordEntry = CaptureRecord | CommandSeen
"""What a ``Record`` carries: a finished capture record, or a command to record."""


def build_record(entry: RecordEntry) -> CaptureRecord:
    """The capture record of ``entry``."""
    return entry.record() if isinstance(entry, CommandSeen) else entry


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Append these capture records, in order (one batch per received chunk)."""

    records: list[RecordEntry]


@dataclass(frozen=True, slots=True, kw_only=True)
class Log:
    """A log line selected by a debug ``flag``: ``msg % args`` at ``level``."""

    flag: Debug
    level: int
    msg: str
    args: tuple[object, ...] = ()


ProxyCommand = SendData | CloseSide | OpenUpstream | RequestRedirect | Record | Log
