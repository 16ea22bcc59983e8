"""msproxy/proxy/routing: where each connection goes and which redirects are taken (sans-IO).

The policy of one proxy, shared by its connections, with no I/O (the trio driver only
carries it out; tests call it directly):

* a new connection's upstream (``Router.route``): the NS its listener stands for, with the
  redirect of that client's address that led there; the SB its first command's cookie
  names, when the connection comes from the client address that redirect was relayed to
  (from elsewhere the cookie is refused: the connection goes on as one with an unknown
  cookie would, to the upstream, and ``Route.refused`` says why); else the configured
  upstream, as ``DS``;
* a redirect the server sent (``Router.plan``): refused when its address is unusable, or
  when it is an SB redirect without a cookie (nothing would find it again); an NS target
  needs a listener of its own (``listen``), opened on first use and bounded;
* the address the client is told instead (``Router.accept``), once the redirect is
  remembered in the ``RedirectTable`` (used once, expiring after its TTL).

The proxy connects only to the upstream and to servers named in redirects it relayed.
"""

from __future__ import annotations

from dataclasses import dataclass

from msmgr.codec import Command
from msmgr.codec.address import format_address, parse_address

from .commands import RequestRedirect
from .redirects import Redirect, RedirectTable

Address = tuple[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Where a new client connection goes: the upstream, its role, the redirect behind it."""

    target: Address
    role: str  # "DS", "NS" or "SB"
    parent: int | None = None  # the connection whose redirect led here
    via: str | None = None  # "XFR" or "RNG"
    refused: str | None = None  # a redirect this connection tried to claim and may not


def host_key(host: str) -> str:
    """A client's host as redirects are matched: an IPv4 address seen through an IPv6
    socket (``::ffff:1.2.3.4``, a dual-stack listener) is the IPv4 address itself."""
    lowered = host.lower()
    if lowered.startswith("::ffff:") and "." in lowered:
        return lowered[len("::ffff:") :]
    return host


@dataclass(frozen=True, slots=True, kw_only=True)
class RedirectPlan:
    """What to do with a redirect the server sent (``Router.plan``, ``Router.listening``)."""

    target: Address | None  # where the redirect points (None: not an address)
    refused: str | None = None  # why it is forwarded unchanged; None: it is proxied
    listen: bool = False  # open a listener for this NS target first (then ``listening``)
    port: int | None = None  # the proxy's port the client will come back to


class Router:
    """The routing and redirect policy of one proxy, shared by all its connections.

    Args:
        upstream: where connections go when no redirect claims them (the ``DS``).
        port: the main listener's port (SB connections come back to it).
        public_host: ``host`` or ``host:port`` written into rewritten redirects (the port
            only for the main listener); None: the address the client reached us on.
        listen_host: the listening host, told when the client reached a wildcard.
        ttl: seconds a redirect waits for the client's new connection.
        max_pending: bound on remembered redirects (oldest dropped first).
        max_ns_listeners: bound on the NS listeners, one per NS target.
    """

    def __init__(
        self,
        *,
        upstream: Address,
        port: int,
        public_host: str | None = None,
        listen_host: str = "127.0.0.1",
        ttl: float = 300.0,
        max_pending: int = 10_000,
        max_ns_listeners: int = 64,
    ) -> None:
        self.upstream = upstream
        self.port = port
        self.public_host = public_host
        self.listen_host = listen_host
        self.max_ns_listeners = max_ns_listeners
        self.table = RedirectTable(ttl=ttl, max_pending=max_pending)
        self.ns_ports: dict[Address, int] = {}

    def route(
        self, first: Command, *, client_host: str, ns_target: Address | None, now: float
    ) -> Route:
        """The upstream of a new connection from ``client_host``, whose first command is
        ``first``, accepted on the listener of ``ns_target`` (None: the main listener).

        The redirect that claims it is used up. An SB cookie of a redirect relayed to
        another client address is refused: the redirect stays pending for its client, this
        connection goes to the upstream (as an unknown cookie's would), and the route's
        ``refused`` says why (the driver logs it)."""
        client_host = host_key(client_host)
        if ns_target is not None:
            claimed = self.table.claim_ns(client_host, ns_target, now)
            if claimed is None:  # expired, or from another address: still that NS
                return Route(target=ns_target, role="NS")
        else:
            claimed = self.table.route(client_host, first, now)
            if claimed is None:
                return Route(
                    target=self.upstream, role="DS", refused=self._foreign(first, client_host)
                )
        return Route(
            target=claimed.target, role=claimed.kind, parent=claimed.parent, via=claimed.via
        )

    def _foreign(self, first: Command, client_host: str) -> str | None:
        """Why ``first``'s cookie may not be claimed from ``client_host``, when it names a
        pending SB redirect (``route`` found none for that address); None when it names
        none."""
        pending = self.table.pending_sb(first)
        if pending is None:
            return None
        return (
            f"an SB cookie of the redirect relayed to client {pending.client_host or '?'} "
            f"(connection #{pending.parent}) was presented from {client_host or '?'}"
        )

    def plan(self, request: RequestRedirect) -> RedirectPlan:
        """Whether to proxy ``request``, and on which port."""
        try:
            target = parse_address(request.target)
        except ValueError as exc:
            return RedirectPlan(target=None, refused=f"unusable redirect address: {exc}")
        if request.kind == "SB":
            if request.cookie is None:
                return RedirectPlan(target=target, refused="an SB redirect without a cookie")
            return RedirectPlan(target=target, port=self.port)
        port = self.ns_ports.get(target)
        if port is not None:
            return RedirectPlan(target=target, port=port)
        if len(self.ns_ports) >= self.max_ns_listeners:
            refused = f"no NS listener available for {format_address(*target)}"
            return RedirectPlan(target=target, refused=refused)
        return RedirectPlan(target=target, listen=True)

    def listening(self, target: Address, port: int | None) -> RedirectPlan:
        """The plan once the listener for NS ``target`` is open on ``port`` (None: it
        could not be opened)."""
        if port is None:
            refused = f"cannot open a listener for NS {format_address(*target)}"
            return RedirectPlan(target=target, refused=refused)
        self.ns_ports[target] = port
        return RedirectPlan(target=target, port=port)

    def accept(
        self,
        request: RequestRedirect,
        plan: RedirectPlan,
        *,
        parent: int,
        client_host: str,
        local: Address | None,
        now: float,
    ) -> str:
        """Remember the redirect ``request`` of connection ``parent`` (``plan``: taken, with
        a port) until the client comes back; the address to tell the client instead."""
        if plan.target is None or plan.port is None:
            raise ValueError(f"a refused redirect cannot be accepted: {plan}")
        redirect = Redirect(
            kind=request.kind,
            via=request.via,
            target=plan.target,
            parent=parent,
            client_host=host_key(client_host),
            expires=now + self.table.ttl,
            cookie=request.cookie,
            sessid=request.sessid,
        )
        self.table.add(redirect, now)
        return self.advertised(local, plan.port)

    def advertised(self, local: Address | None, port: int) -> str:
        """The address written into rewritten redirects for the listener on ``port``.

        ``public_host`` wins (its port, if given, only for the main listener); else the
        address the client reached the proxy on (``local``).
        """
        if self.public_host:
            host, public_port = parse_address(self.public_host, default_port=self.port)
            return format_address(host, public_port if port == self.port else port)
        host = local[0] if local else self.listen_host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        return format_address(host, port)
