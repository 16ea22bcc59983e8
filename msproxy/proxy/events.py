"""msproxy/proxy/events: what the driver feeds into a ``Relay`` (events in)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Side(enum.Enum):
    """One of the two ends of a proxied connection."""

    CLIENT = "client"
    UPSTREAM = "upstream"

    @property
    def other(self) -> Side:
        return Side.UPSTREAM if self is Side.CLIENT else Side.CLIENT


@dataclass(slots=True, kw_only=True)
class DataReceived:
    """Bytes arrived from one side at time ``t`` (seconds, the capture's clock).

    Not frozen, unlike the other events: one is made per chunk read, and a frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``. Treat it
    as read-only.
    """

    side: Side
    data: bytes | bytearray
    t: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed:
    """One side ended: a clean end of stream (``error`` None) or a failure (``error`` says why)."""

    side: Side
    t: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamOpened:
    """Reply to ``OpenUpstream``: the upstream connection is open, or failed (``error``).

    ``role`` is ``"DS"``, ``"NS"`` or ``"SB"``; ``parent`` and ``via`` name the connection
    and command (``"XFR"``/``"RNG"``) whose redirect led here, when there was one.
    """

    upstream: str
    role: str
    t: float = 0.0
    parent: int | None = None
    via: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RedirectReady:
    """Reply to ``RequestRedirect``: tell the client ``address`` (None: refused, forward as
    is, ``why`` it was refused)."""

    address: str | None
    t: float = 0.0
    why: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Shutdown:
    """The proxy is stopping, or gives up on the connection (``reason``, e.g. no first
    command in time): record what is held and the close (``by: "proxy"``)."""

    t: float = 0.0
    reason: str = "proxy shutting down"


Event = DataReceived | ConnectionClosed | UpstreamOpened | RedirectReady | Shutdown
