"""msproxy/proxy/loops: noticing a connection that loops back through the proxy.

``serve_proxy`` refuses at start an upstream that is the proxy itself; this catches what
that check cannot (a name that resolves to the proxy later, a redirect naming the
proxy's own address): a client connection whose two ends are the two ends of one of the
proxy's own upstream connections (the same local address and port alone is not enough:
the system reuses a source port for connections to different destinations). That
connection is closed before it connects anywhere, so a loop goes one step deep instead
of becoming a storm; it is said once a minute (``LOOP_LOG_EVERY``), counting the others.
"""

from __future__ import annotations

import logging

from msmgr.codec.address import format_address
from msmgr.serving import Throttled

from .routing import Address

logger = logging.getLogger(__name__)

LOOP_LOG_EVERY = 60.0
"""Seconds between two log lines about looping connections."""


Ends = tuple[Address, Address]
"""The (local, remote) addresses of a TCP connection, as seen from one side."""


def stream_ends(stream: object) -> Ends | None:
    """The (local, remote) (host, port) of a stream (None when it has no socket)."""
    sock = getattr(stream, "socket", None)
    if sock is None:
        return None
    try:
        local, remote = sock.getsockname(), sock.getpeername()
    except OSError:
        return None
    if not isinstance(local, tuple) or not isinstance(remote, tuple):
        return None
    return (str(local[0]), int(local[1])), (str(remote[0]), int(remote[1]))


class LoopWatch:
    """The ends of the proxy's open upstream connections, by connection number."""

    def __init__(self) -> None:
        self._ends: dict[Ends, tuple[int, str]] = {}
        self.warning = Throttled(LOOP_LOG_EVERY, log=logger)

    def opened(self, conn: int, upstream: str, stream: object) -> Ends | None:
        """Connection ``conn`` opened ``stream`` to ``upstream``; its ends, to give back
        to ``closed``."""
        ends = stream_ends(stream)
        if ends is not None:
            self._ends[ends] = (conn, upstream)
        return ends

    def closed(self, ends: Ends | None) -> None:
        """The upstream connection with these ``ends`` is closed."""
        if ends is not None:
            self._ends.pop(ends, None)

    def check(self, conn: int, client_stream: object) -> str | None:
        """Why connection ``conn`` (its client side ``client_stream``) is the proxy's own
        upstream connection come back (logged, once a minute), or None when it is not:
        the client's address is that connection's local end, and the address it reached
        here is that connection's remote end."""
        ends = stream_ends(client_stream)
        if ends is None:
            return None
        here, client = ends
        found = self._ends.get((client, here))
        if found is None:
            return None
        origin, upstream = found
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
