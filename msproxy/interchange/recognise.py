"""msproxy/interchange/recognise: is a TCP connection MSNP, and which side is the client?

By content, on any port: the client is the side whose first line is ``VER``, ``USR`` or
``ANS`` with a TrID (a dispatch or notification login, a switchboard login, an answered
invitation); a server never speaks first. A connection whose first complete line is
anything else is not MSNP, unless ``ports`` name one of its ports (then the other side
is the client: a capture that started after the login still imports).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from .segments import Endpoint

FIRST_LINE = 16 * 1024
"""Bytes read into a connection without a line end before deciding it is not MSNP."""
_OPENING = re.compile(rb"(VER|USR|ANS) +[0-9]+ ")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``recognise`` decided: MSNP with ``client`` as the client, or not MSNP."""

    msnp: bool
    client: Endpoint | None = None


NOT_MSNP = Verdict(False)


def opens_session(line: bytes) -> bool:
    """Whether ``line`` is one a client starts an MSNP connection with."""
    return _OPENING.match(line) is not None


def by_port(a: Endpoint, b: Endpoint, ports: Collection[int]) -> Endpoint | None:
    """With ``--port``: the client of a connection between ``a`` and ``b`` (the side not
    on one of ``ports``), or None when neither or both are on one."""
    if (a[1] in ports) == (b[1] in ports):
        return None
    return b if a[1] in ports else a


def recognise(
    sender: Endpoint, first: bytes, receiver: Endpoint, ports: Collection[int]
) -> Verdict | None:
    """Decide from ``first``, the first bytes ``sender`` sent (to ``receiver``), before
    the other side sent a complete line; None: undecided yet (no line end yet)."""
    end = first.find(b"\n")
    if end < 0:
        return NOT_MSNP if len(first) > FIRST_LINE else None
    if opens_session(first[: end + 1]):
        return Verdict(True, sender)
    client = by_port(sender, receiver, ports) if ports else None
    return Verdict(True, client) if client is not None else NOT_MSNP
