"""msproxy/proxy/ways: what a relay keeps per direction (its framer, fast path and names).

A ``Way`` is looked up once per chunk, so the hot path tests no enum and hashes no key:
the direction's framer and C scanner, its capture ``dir``, who ends it (``close.by``),
its debug flags, and whether its chunks reach the relay already forwarded.
"""

from __future__ import annotations

from msmgr.codec import Dialect, Direction, Framer, Limits
from msmgr.debug import Debug
from msproxy.capture.scan import RecordScanner

from .events import Side
from .redact import SECRET_PREFIXES

REDIRECT_VERBS = frozenset({"XFR", "RNG"})
# What the fast path leaves to the Python path, per side (``RecordScanner(slow=...)``).
_SLOW_ALWAYS = {Side.CLIENT: (), Side.UPSTREAM: tuple(sorted(REDIRECT_VERBS))}
_DIRECTION = {Side.CLIENT: Direction.C2S, Side.UPSTREAM: Direction.S2C}
BY = {Side.CLIENT: "client", Side.UPSTREAM: "server"}
"""Who ended a connection when this side did (the ``close`` record's ``by``)."""
_COMMAND_FLAG = {Side.CLIENT: Debug.COMMAND_SEND, Side.UPSTREAM: Debug.COMMAND_RECV}
_PACKET_FLAG = {Side.CLIENT: Debug.PACKET_SEND, Side.UPSTREAM: Debug.PACKET_RECV}


class Way:
    """One direction of a relayed connection: what its side sends to the other."""

    __slots__ = (
        "by",
        "command_flag",
        "dir",
        "direction",
        "forwarded",
        "framer",
        "packet_flag",
        "scanner",
        "side",
        "to",
        "upstream",
    )

    def __init__(
        self,
        side: Side,
        *,
        conn: int,
        dialect: Dialect,
        limits: Limits | None,
        fast: bool | None,
        accelerate: bool | None = None,
        redact: bool,
    ) -> None:
        self.side = side
        self.upstream = side is Side.UPSTREAM
        self.to = side.other
        self.direction = direction = _DIRECTION[side]
        self.dir = direction.value
        self.by = BY[side]
        self.command_flag = _COMMAND_FLAG[side]
        self.packet_flag = _PACKET_FLAG[side]
        self.framer = Framer(
            direction, strict=False, dialect=dialect, limits=limits, accelerate=accelerate
        )
        secrets = SECRET_PREFIXES[direction] if redact else ()
        slow = _SLOW_ALWAYS[side] + secrets
        # (in C when built and ``fast`` allows, else in Python: the same records)
        self.scanner = RecordScanner(conn, direction, slow=slow, limits=limits, accelerate=fast)
        # True once this side's chunks reach the relay forwarded already (unframed).
        self.forwarded = False
