"""msproxy/interchange/linking: which connection's redirect led to a new connection.

The proxy's own bookkeeping (``msproxy.proxy.redirects.RedirectTable``) on the packets'
times: an ``XFR``/``RNG`` a server sent (the codec's ``find_redirect``) is remembered
with the client address it was sent to; a new connection from that address is the
switchboard whose cookie its first command presents (``USR``/``ANS``), or the
notification server at the address an ``XFR NS`` named. Anything else is a ``DS``
connection (the first of a session, or one whose redirect was not captured). Parents are
kept as the connections' keys here (their numbers may not be known yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from msmgr.codec import Command, parse_address
from msmgr.codec.redirect import find_redirect
from msproxy.proxy.redirects import Redirect, RedirectTable

from .segments import Endpoint

SB_LOGIN_ARGS = 2
"""A switchboard ``USR``/``ANS`` carries at least the handle and the cookie."""


@dataclass(frozen=True, slots=True)
class Link:
    """A connection's role and where it came from (``parent``: a connection key)."""

    role: str
    parent: int | None = None
    via: str | None = None


class Linker:
    """Redirects seen so far, and the links of new connections to them."""

    def __init__(self, *, ttl: float = 300.0, max_pending: int = 10_000) -> None:
        self._table = RedirectTable(ttl=ttl, max_pending=max_pending)

    def saw(self, parent: int, client: Endpoint, command: Command, t: float) -> None:
        """A server sent ``command`` at ``t`` to ``client`` on connection ``parent``."""
        info = find_redirect(command)
        if info is None or (info.kind == "SB" and info.cookie is None):
            return
        try:
            target = parse_address(info.address)
        except ValueError:
            return
        redirect = Redirect(
            kind=info.kind,
            via=info.via,
            target=target,
            parent=parent,
            client_host=client[0],
            expires=t + self._table.ttl,
            cookie=info.cookie,
            sessid=info.sessid,
        )
        self._table.add(redirect, t)

    def link(self, client: Endpoint, server: Endpoint, first: Command | None, t: float) -> Link:
        """The link of a connection from ``client`` to ``server`` opened at ``t`` whose
        client's first command is ``first`` (None: not captured)."""
        if first is not None:
            found = self._table.route(client[0], first, t)
            if found is not None:
                return Link("SB", found.parent, found.via)
            sb_login = first.verb == "ANS" or (first.args and "@" in first.args[0])
            if first.verb in ("USR", "ANS") and len(first.args) >= SB_LOGIN_ARGS and sb_login:
                return Link("SB")
        found = self._table.claim_ns(client[0], server, t)
        if found is not None:
            return Link("NS", found.parent, found.via)
        return Link("DS")
