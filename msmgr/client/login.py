"""msmgr/client/login: the login dialogue (VER, INF or CVR, USR MD5 or TWN, XFR NS).

``login()`` is one coroutine that walks the whole login with awaited requests, so every
step has a timeout and every failure is an exception: MSNP2-7 ``USR MD5`` with the
hashed password, MSNP8-12 ``USR TWN`` with a Passport 1.4 ticket, following ``XFR NS``
redirects (at most ``MAX_REDIRECTS``). Once logged in, the NS connection's ``core`` hook
(``NotificationSession._ns_core``) takes over and the ``login`` event is dispatched.
"""

from __future__ import annotations

from typing import Self

import trio

from msmgr.codec import Command, parse_version
from msmgr.codec.versions import LIST_FORMAT_10, TWEENER

from .address import parse_address
from .command import make
from .connection import Connection
from .errors import (
    AuthenticationError,
    ClientError,
    ProtocolMismatch,
    RequestTimeout,
    ServerError,
    error_meaning,
)
from .lists import unquote
from .notification import NotificationSession
from .versions import cvr_args

MAX_REDIRECTS = 5


class LoginSession(NotificationSession):
    """The login dialogue of a session (see ``Session``)."""

    def offered_versions(self) -> list[str]:
        """The versions offered in VER, highest first."""
        return [f"MSNP{v}" for v in range(self.max_version, self.min_version - 1, -1)]

    async def login(self) -> Self:
        """Log in: DS, redirects, authentication; then fire the ``login`` event.

        Raises:
            AuthenticationError: wrong handle or password (911, Passport 401).
            ProtocolMismatch: no common protocol version or login method.
            ServerError: another numeric error during login.
            ConnectFailed, ConnectionLost, RequestTimeout: network trouble or a silent server.
        """
        if self.logged_in:
            return self
        self._logged_out = trio.Event()
        self.close_reason = None
        with trio.move_on_after(self.login_timeout) as scope:
            await self._login()
        if scope.cancelled_caught:
            await self._drop_ns()
            raise RequestTimeout(f"login did not complete within {self.login_timeout} s")
        return self

    async def _drop_ns(self) -> None:
        ns, self.ns = self.ns, None
        if ns is not None:
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await ns.close()

    async def _login(self) -> None:
        host, port = self.server
        self.contact_lists.presence.clear()  # who is online is told anew on every login
        for hop in range(MAX_REDIRECTS + 1):
            name = "Dispatch Server" if hop == 0 else "Notification Server"
            conn = Connection(
                self,
                host,
                port,
                name=name,
                debug=self.debug,
                handlers=self.handlers,
                accelerate=self.accelerate,
            )
            conn.core = self._ns_core
            self.ns = conn
            try:
                await conn.connect()
                target = await self._authenticate(conn)
            except BaseException:
                await self._drop_ns()
                raise
            if target is None:
                return
            await conn.close()
            host, port = target
        await self._drop_ns()
        raise ClientError(f"more than {MAX_REDIRECTS} XFR NS redirects")

    async def _authenticate(self, conn: Connection) -> tuple[str, int] | None:
        """One server's login dialogue: None when logged in, else where XFR NS sends us."""
        reply = await conn.request(make("VER", *self.offered_versions(), "CVR0"))
        version = next((v for v in map(parse_version, reply.args) if v is not None), None)
        if version is None or not self.min_version <= version <= self.max_version:
            raise ProtocolMismatch(
                f"{conn.name} accepts none of {' '.join(self.offered_versions())} "
                f"(answered {reply.line!r})"
            )
        self.version = version
        conn.dialect.version = version
        handle = self.handle
        try:
            if version >= TWEENER:
                await conn.request(make("CVR", *cvr_args(version, handle)))
                reply = await conn.request(make("USR", "TWN", "I", handle), accept=("XFR",))
                if reply.verb == "XFR":
                    return self._redirect(conn, reply)
                if reply.args[:2] != ("TWN", "S") or len(reply.args) < 3:
                    raise ProtocolMismatch(f"unexpected answer to USR TWN I: {reply.line!r}")
                ticket = await self.passport.get_ticket(handle, self.user.password, reply.args[2])
                reply = await conn.request(make("USR", "TWN", "S", ticket))
            else:
                reply = await conn.request(make("INF"))
                if "MD5" not in reply.args:
                    raise ProtocolMismatch(f"{conn.name} offers no MD5 login: {reply.line!r}")
                reply = await conn.request(make("USR", "MD5", "I", handle), accept=("XFR",))
                if reply.verb == "XFR":
                    return self._redirect(conn, reply)
                if reply.args[:2] != ("MD5", "S") or len(reply.args) < 3:
                    raise ProtocolMismatch(f"unexpected answer to USR MD5 I: {reply.line!r}")
                answer = self.user.crypto_passwd(reply.args[2])
                reply = await conn.request(make("USR", "MD5", "S", answer))
        except ServerError as exc:
            if exc.code in (911, 917, 928):
                raise AuthenticationError(
                    f"{conn.name} refused the login of {handle} "
                    f"(error {exc.code}: {error_meaning(exc.code)})"
                ) from exc
            raise
        if reply.args[:1] != ("OK",):
            raise ProtocolMismatch(f"unexpected answer to USR: {reply.line!r}")
        # USR trid OK handle [name] [verified restricted]; MSNP10+ leaves the name out
        has_name = len(reply.args) > 2 and version < LIST_FORMAT_10
        self.friendly_name = unquote(reply.args[2]) if has_name else handle
        self.logged_in = True
        conn.name = "Notification Server"
        self.nursery.start_soon(self._keepalive, conn)
        await self._post(Command.make_pseudo("login", self))
        return None

    @staticmethod
    def _redirect(conn: Connection, reply: Command) -> tuple[str, int]:
        if reply.args[:1] != ("NS",) or len(reply.args) < 2:
            raise ProtocolMismatch(f"unexpected XFR during login: {reply.line!r}")
        if reply.args[1] == "0":  # restart from VER on the same server
            return conn.nserver, conn.nsport
        try:
            return parse_address(reply.args[1])
        except ValueError as exc:
            raise ProtocolMismatch(f"bad XFR NS address: {exc}") from None
