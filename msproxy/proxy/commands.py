"""msproxy/proxy/commands: what a ``Relay`` asks its driver to do (commands out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from msmgr.codec import Command, CommandRun, Dialect, Direction
from msmgr.debug import Debug
from msproxy.capture import Record
from msproxy.capture.encode import RecordRun
from msproxy.view.subject import Subject

from .events import Side


@dataclass(frozen=True, slots=True, kw_only=True)
class SendData:
    """Write ``data`` to ``side`` (await it before reading more: that is the backpressure)."""

    side: Side
    data: bytes | memoryview  # (a view of what the framer read, when it can be)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardUnframed:
    """From now on, send each chunk read from ``side`` on to the other side as it comes,
    *before* handing it to the relay, which then only frames and records it (emitted once,
    when nothing of that side is held: its bytes are never rewritten)."""

    side: Side


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseSide:
    """Close ``side``: only its sending half (``half_close``) or the whole connection."""

    side: Side
    half_close: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenUpstream:
    """The client's first command arrived: choose the upstream and connect (blocking).

    ``routing.Router.route`` decides on ``first`` (an SB cookie in ``USR``/``ANS``, or
    ``VER`` after an ``XFR NS``); the driver connects and replies with ``UpstreamOpened``.
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


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRecords:
    """Append these capture records (one batch per received chunk).

    Records are dicts, or ``RecordRun`` items (runs of ``cmd`` records the C fast path
    framed, encoded when the capture writer writes them).
    """

    records: Sequence[Record | RecordRun]


@dataclass(frozen=True, slots=True, kw_only=True)
class Log:
    """A log line selected by a debug ``flag``: ``msg % args`` at ``level``; ``subject``:
    what the line is about, for the console's filter (None: always shown)."""

    flag: Debug
    level: int
    msg: str
    args: tuple[object, ...] = ()
    subject: Subject | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRun:
    """The console lines of a run of ordinary commands framed on the fast path, handed over
    as the run itself (no ``Command`` or line built on the relay's path): the console
    parses and shows them when it has time (``msproxy.proxy.console``)."""

    flag: Debug  # COMMAND_SEND or COMMAND_RECV
    name: str  # the connection's name (``SB#3``)
    conn: int
    role: str | None
    direction: Direction
    dialect: Dialect  # the connection's, to parse the run's commands again
    run: CommandRun
    notifications_only: bool  # only NOTIFICATION_VERBS are shown (the COMMAND flag is off)


ProxyCommand = (
    SendData
    | ForwardUnframed
    | CloseSide
    | OpenUpstream
    | RequestRedirect
    | WriteRecords
    | Log
    | LogRun
)
