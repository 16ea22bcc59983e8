"""msproxy/proxy/loops: noticing a connection that loops back through the proxy.

``serve_proxy`` refuses at start an upstream that is the proxy itself; this catches what
that check cannot (a name that resolves to the proxy later, a redirect naming the
proxy's own address): a client connection whose address is the local end of one of the
proxy's own upstream connections. That connection is closed before it connects
anywhere, so a loop goes one step deep instead of becoming a storm; it is said once a
minute (``LOOP_LOG_EVERY``), counting the others.
"""

from __future__ import annotations

import logging

from msmgr.codec.address import format_address
from msmgr.serving import Throttled

from .routing import Address

logger = logging.getLogger(__name__)

LOOP_LOG_EVERY = 60.0
"""Seconds between two log lines about looping connections."""


def local_end(stream: object) -> Address | None:
    """The (host, port) of a stream's own end (None when it has no socket)."""
    sock = getattr(stream, "socket", None)
    try:
        name = sock.getsockname() if sock is not None else None
    except OSError:
        return None
    return (str(name[0]), int(name[1])) if isinstance(name, tuple) else None


class LoopWatch:
    """The local ends of the proxy's open upstream connections, by connection number."""

    def __init__(self) -> None:
        self._ends: dict[Address, tuple[int, str]] = {}
        self.warning = Throttled(LOOP_LOG_EVERY, log=logger)

    def opened(self, conn: int, upstream: str, stream: object) -> Address | None:
        """Connection ``conn`` opened ``stream`` to ``upstream``; its local end, to give
        back to ``closed``."""
        end = local_end(stream)
        if end is not None:
            self._ends[end] = (conn, upstream)
        return end

    def closed(self, end: Address | None) -> None:
        """The upstream connection whose local end is ``end`` is closed."""
        if end is not None:
            self._ends.pop(end, None)

    def check(self, conn: int, client: Address | None) -> str | None:
        """Why connection ``conn``, from ``client``, is the proxy's own upstream
        connection come back (logged, once a minute), or None when it is not."""
        found = self._ends.get(client) if client is not None else None
        if found is None:
            return None
        origin, upstream = found
        assert client is not None
        reason = (
            f"loop: this connection is the proxy's own upstream connection #{origin} "
            f"(from {format_address(*client)} to {upstream}), come back into the proxy"
        )
        self.warning.note(
            "#%d is the proxy's own connection #%d to %s, come back: the upstream leads "
            "back into this proxy (name the real server); closing such connections before "
            "they connect anywhere",
            conn,
            origin,
            upstream,
        )
        return reason
