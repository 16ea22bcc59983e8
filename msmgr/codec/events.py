"""msmgr/codec/events: what a ``Framer`` is given (limits, the dialect) and what it returns.

The events of one direction's byte stream (``Event``): a ``Command``, or in tolerant
mode what is not one (``Unparsed``, ``Desync``, ``Passthrough``), or a run of commands
taken by a bulk scanner (``CommandRun``, the ``BulkScanner`` interface).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .command import Command

DEFAULT_MAX_LINE = 16 * 1024
"""Longest accepted command line, line end included. Real lines stay under 2 KiB
(MSNP15 SSO tickets are the longest); 16 KiB leaves room without letting a peer that
never sends a line end make the buffer grow."""

DEFAULT_MAX_PAYLOAD = 1024 * 1024
"""Largest accepted payload. Real payloads stay under 16 KiB (ADL lists, Shields.xml);
1 MiB is the cap the reference suggests as the sign of a lost framing."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The framer's explicit bounds on a line and a payload, in bytes."""

    max_line: int = DEFAULT_MAX_LINE
    max_payload: int = DEFAULT_MAX_PAYLOAD


@dataclass(slots=True)
class Dialect:
    """What both directions of a connection know about it: the negotiated MSNP version."""

    version: int | None = None


@dataclass(slots=True)
class Unparsed:
    """A line that is not an MSNP command, passed on unchanged (tolerant mode only)."""

    raw: bytes
    reason: str


@dataclass(slots=True)
class Desync:
    """Framing was lost in this direction; every later byte arrives as Passthrough."""

    reason: str


@dataclass(slots=True)
class Passthrough:
    """Bytes passed on unframed, after a Desync (tolerant mode only)."""

    data: bytes


@dataclass(slots=True)
class CommandRun:
    """Complete commands consumed by a bulk scanner (only with ``Framer(bulk=...)``)."""

    raw: memoryview  # their exact bytes, in order: a view of the framer's buffer (no copy)
    count: int  # how many commands
    data: bytes  # what the scanner made of them


Event = Command | Unparsed | Desync | Passthrough | CommandRun

BulkScanner = Callable[[bytes, int], tuple[int, int, bytes]]
"""``scan(work, pos) -> (new_pos, count, data)``: consume the complete commands at
``work[pos:]`` that the scanner handles, stopping (without consuming it) at the first
it does not or that is incomplete; ``data`` is its output for the ``count`` commands
of ``work[pos:new_pos]``. It must frame exactly as ``Framer`` does, and leave to the
framer every command that could change the dialect (the server's ``VER``) or whose
framing depends on it (numeric errors, ``LSG`` from the server)."""
