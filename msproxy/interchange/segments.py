"""msproxy/interchange/segments: TCP segments read from a packet capture, and what one
direction's reassembly makes of them (bytes in order, gaps, differing overlaps, the end)."""

from __future__ import annotations

from dataclasses import dataclass

Endpoint = tuple[str, int]
"""An address and port, the address as text (``"127.0.0.1"``, ``"::1"``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """One TCP segment of a packet capture, when a packet carries one."""

    t: float  # the packet's time (Unix seconds)
    src: Endpoint
    dst: Endpoint
    seq: int
    ack: int | None  # the acknowledgement number, when the ACK flag is set
    syn: bool = False
    fin: bool = False
    rst: bool = False
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class Delivered:
    """Bytes of the stream, in order, from the segment read at ``t``."""

    t: float
    data: bytes


@dataclass(frozen=True, slots=True)
class Gap:
    """``size`` bytes of the stream never reached the capture: what follows is later data."""

    t: float
    size: int


@dataclass(frozen=True, slots=True)
class Conflict:
    """A segment overlapped bytes already seen, with different bytes (the first copy wins)."""

    t: float
    size: int  # how many of the overlapping bytes differ


@dataclass(frozen=True, slots=True)
class Ended:
    """The direction ended: its FIN, or a reset of the connection (``reset``)."""

    t: float
    reset: bool


Outcome = Delivered | Gap | Conflict | Ended
"""What ``Reassembler`` returns for a segment."""
