"""msproxy/proxy/redirects: redirects waiting for the client's next connection.

Strategy: the proxy must tell from a new connection where the client was sent.

* SB (``XFR SB`` / ``RNG``): the first command is ``USR trid handle cookie`` or
  ``ANS trid handle cookie sessid``; the cookie names the redirect exactly, and only a
  connection from the client address the redirect was relayed to claims it (a cookie
  seen elsewhere is not a way into that switchboard). These connections come to the
  main listener.
* NS (``XFR NS``): the first command is ``VER``, exactly like a first connection to the
  DS, so one port cannot tell them apart when many clients share an address (it would
  send one client's DS connection to the NS another client was redirected to). The
  proxy therefore gives each NS *target* its own listener port (``routing.Router``): the
  port names the target exactly. This table only remembers which connection the
  redirect came from (for the ``open`` record's ``parent``), per client address and
  target, first in first out.

Redirects are used once and expire after ``ttl`` seconds; at most ``max_pending`` are
kept (the oldest dropped first), so a flood of redirects cannot grow memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from msmgr.codec import Command


@dataclass(frozen=True, slots=True, kw_only=True)
class Redirect:
    """A redirect seen on connection ``parent``: the client will come back for ``target``."""

    kind: str  # "NS" or "SB"
    via: str  # "XFR" or "RNG"
    target: tuple[str, int]
    parent: int
    client_host: str
    expires: float
    cookie: str | None = None
    sessid: str | None = None


class RedirectTable:
    """Pending redirects, found again by SB cookie or (for NS) by the client's address."""

    def __init__(self, *, ttl: float = 300.0, max_pending: int = 10_000) -> None:
        self.ttl = ttl
        self.max_pending = max_pending
        self._by_cookie: dict[str, Redirect] = {}
        self._ns: dict[str, deque[Redirect]] = {}
        self._order: deque[Redirect] = deque()

    def __len__(self) -> int:
        return len(self._by_cookie) + sum(len(q) for q in self._ns.values())

    def add(self, redirect: Redirect, now: float) -> None:
        """Remember ``redirect`` (an SB one needs a cookie)."""
        self._expire(now)
        while len(self._order) >= self.max_pending:
            self._forget(self._order.popleft())
        if redirect.kind == "SB":
            if redirect.cookie is None:
                raise ValueError("an SB redirect needs a cookie to be found again")
            old = self._by_cookie.get(redirect.cookie)
            if old is not None:
                self._order.remove(old)
            self._by_cookie[redirect.cookie] = redirect
        else:
            self._ns.setdefault(redirect.client_host, deque()).append(redirect)
        self._order.append(redirect)

    def route(self, client_host: str, first: Command, now: float) -> Redirect | None:
        """The redirect a new connection from ``client_host`` claims with its first
        command's cookie (removed), or None. A redirect relayed to another client address
        stays pending for that client (see ``pending_sb``)."""
        self._expire(now)
        redirect = self.pending_sb(first)
        if redirect is None or redirect.client_host != client_host:
            return None
        assert redirect.cookie is not None
        del self._by_cookie[redirect.cookie]
        self._order.remove(redirect)
        return redirect

    def pending_sb(self, first: Command) -> Redirect | None:
        """The pending SB redirect whose cookie ``first`` (``USR``/``ANS``) presents,
        whoever presents it; nothing is removed."""
        args = first.args
        if first.verb in ("USR", "ANS") and len(args) >= 2:
            return self._by_cookie.get(args[1])
        return None

    def claim_ns(self, client_host: str, target: tuple[str, int], now: float) -> Redirect | None:
        """The oldest NS redirect of ``client_host`` to ``target`` (removed), or None."""
        self._expire(now)
        queue = self._ns.get(client_host)
        if not queue:
            return None
        for redirect in queue:
            if redirect.target == target:
                queue.remove(redirect)
                if not queue:
                    del self._ns[client_host]
                self._order.remove(redirect)
                return redirect
        return None

    def _expire(self, now: float) -> None:
        order = self._order
        while order and order[0].expires <= now:
            self._forget(order.popleft())

    def _forget(self, redirect: Redirect) -> None:
        if redirect.kind == "SB":
            assert redirect.cookie is not None
            if self._by_cookie.get(redirect.cookie) is redirect:
                del self._by_cookie[redirect.cookie]
            return
        queue = self._ns.get(redirect.client_host)
        if queue is not None:
            try:
                queue.remove(redirect)
            except ValueError:
                pass
            if not queue:
                del self._ns[redirect.client_host]
