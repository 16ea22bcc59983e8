"""msmgr/server/notification: the notification server (login, lists, presence, CHL).

Per connection: VER/INF/CVR (``handshake``), then login — MSNP2-7 ``USR MD5 I/S``
(salt, ``md5(salt + password)``), MSNP8-12 ``USR TWN I/S`` (Passport challenge string,
then the ticket issued by ``passport_http``) — then ``USR OK`` (MSNP11+: ``SBS 0 null``)
and the profile message. Logged in: the list commands (``nscommands``), CHG
(``presence``; MSNP8+ client id, MSNP9+ optional MSNObject, kept and relayed in
ILN/NLN), XFR SB, PNG, OUT and, from MSNP6 on, the CHL/QRY challenge after the first
CHG (again every ``challenge_interval`` seconds if set; no QRY within ``chl_timeout``
closes). QRY is checked with the key of the product id the client names: MSNP6-10 the
MD5 scheme (``CHALLENGE_KEYS``), MSNP11+ the newer one (``CHALLENGE_KEYS_11``).
PAG and PGD (pager) are 715: there is no pager or mobile gateway here.
"""

from __future__ import annotations

import logging
import secrets
import time

import trio

from msmgr.codec import MSNP11_KEY, Command, challenge_md5, challenge_msnp11, login_hash
from msmgr.codec.challenge import MSNP15_KEY, MSNP18_KEY, ClientKey
from msmgr.codec.versions import CHALLENGES, CHL_MSNP11, MSNOBJ, SBS_LINE, TWEENER

from . import formats, presence
from .connection import Connection
from .context import CommandError, ServerContext, command_loop, unexpected
from .handshake import Handshake, Outcome
from .limits import FAILURES_PER_CONNECTION, account_key, login_keys
from .nscommands import handler_for
from .state import NsSession

logger = logging.getLogger(__name__)

CHALLENGE_KEYS = {
    "msmsgs@msnmsgr.com": "Q1P7W2E4J9R8U3S5",
    "PROD0038W!61ZTF9": "VT6PX?UQTM4WM%YR",
    "PROD0058#7IL2{QD": "QHDCY@7R1TB6W?5B",
    "PROD0061VRRZH@4F": "JXQ6J@TUOGYV@N0M",
    "PROD00504RLUG%WL": "I2EBK%PYNLZL5_J4",
    "PROD0076ENE8*@AW": "CEQJ8}OE0!WTSWII",
}
"""The MSNP6-10 CHL key pairs accepted in QRY (reference d.3)."""

CHALLENGE_KEYS_11: dict[str, ClientKey] = {
    key.product_id: key for key in (MSNP11_KEY, MSNP15_KEY, MSNP18_KEY)
}
"""The MSNP11+ product ids accepted in QRY, with their keys (reference d.4)."""

MAX_MSNOBJ = 2048
"""Longest accepted URL-encoded MSNObject in CHG (MSNP9+)."""

TWN_CHALLENGE = (
    "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct={ct},"
    "kpp=1,kv=5,ver=2.1.0173.1,tpf={tpf}"
)


class NotificationConnection:
    """One client connection to the notification server."""

    def __init__(self, ctx: ServerContext, conn: Connection) -> None:
        self.ctx = ctx
        self.conn = conn
        self.handshake = Handshake(conn)
        self.pending: tuple[str, str, str] | None = None  # scheme, e-mail, salt
        self.session: NsSession | None = None
        self.challenge: str | None = None
        self.answered = trio.Event()
        self.failed_logins = 0

    @property
    def version(self) -> int:
        assert self.handshake.version is not None
        return self.handshake.version

    async def run(self) -> None:
        """Serve commands until the client leaves; then take it offline."""
        try:
            await command_loop(self.conn, self.handle)
        finally:
            self.logout()

    async def handle(self, command: Command) -> bool:
        outcome = await self.handshake.handle(command)
        if outcome is not Outcome.NOT_MINE:
            return outcome is Outcome.HANDLED
        verb = command.verb
        try:
            if verb == "PNG":
                await self.conn.send(formats.qng(self.version))
            elif verb == "OUT":
                await self.conn.send(Command("OUT"))
                return False
            elif verb == "USR":
                await self.usr(command)
            elif self.session is None:
                raise CommandError(unexpected(verb))
            elif verb == "QRY":
                return await self.qry(command)
            else:
                await self.conn.send(*self.logged_in(self.session, command))
        except CommandError as exc:
            await self.conn.send(formats.error(exc.code, command.trid))
            if exc.code == 911:
                self.failed_logins += 1
                if self.failed_logins >= FAILURES_PER_CONNECTION:
                    logger.info("%s: %d failed logins, closing", self.conn, self.failed_logins)
                    return False
        return True

    # -- login -----------------------------------------------------------------

    async def usr(self, command: Command) -> None:
        if self.session is not None:
            raise CommandError(207)
        if len(command.args) != 3 or command.args[1] not in ("I", "S"):
            raise CommandError(201)
        scheme, step, value = command.args
        if scheme != ("TWN" if self.version >= TWEENER else "MD5"):
            raise CommandError(911)
        if step == "I":
            if scheme == "MD5":
                salt = f"{int(time.time())}.{secrets.randbelow(10**9):09d}"
                reply = salt
            else:
                salt = ""
                reply = TWN_CHALLENGE.format(ct=int(time.time()), tpf=secrets.token_hex(16))
            self.pending = (scheme, value, salt)
            await self.conn.send(Command("USR", command.trid, (scheme, "S", reply)))
            return
        if self.pending is None or self.pending[0] != scheme:
            raise CommandError(unexpected("USR"))
        _, email, salt = self.pending
        self.pending = None
        state = self.ctx.state
        account = state.accounts.get(email)
        keys = login_keys(email, self.conn.peer[0])
        await trio.sleep(state.logins.wait(keys, time.monotonic()))
        if scheme == "MD5":
            ok = account is not None and value == login_hash(salt, account.password)
            mspauth = secrets.token_urlsafe(48) + "$$"
        else:
            ok = account is not None and state.take_ticket(email, value)
            mspauth = value.partition("&")[0].removeprefix("t=")
        if account is None or not ok:
            logger.info("%s: login of %s failed", self.conn, email)
            state.logins.failed(keys, time.monotonic())
            raise CommandError(911)
        state.logins.succeeded(account_key(email))
        await self.login(command.trid, email, mspauth)

    async def login(self, trid: int | None, email: str, mspauth: str) -> None:
        state = self.ctx.state
        session = NsSession(email, self.version, self.conn)
        before = presence.audience(state, email)
        old = state.register(session)
        self.session = session
        if old is not None:
            old.outbox.post(Command("OUT", None, ("OTH",)))
            old.outbox.kick("signed in elsewhere")
        presence.announce(state, email, before)
        account = state.accounts[email]
        logger.info("%s: %s logged in with MSNP%d", self.conn, email, self.version)
        replies = [formats.usr_ok(trid, self.version, email, account.name)]
        if self.version >= SBS_LINE:
            replies.append(formats.sbs())
        replies.append(formats.profile(account, mspauth, self.conn.peer))
        await self.conn.send(*replies)

    def logout(self) -> None:
        """Take the session offline (once), telling its watchers."""
        session, self.session = self.session, None
        if session is None:
            return
        state = self.ctx.state
        before = presence.audience(state, session.email)
        if state.unregister(session):
            presence.announce(state, session.email, before)
        logger.info("%s: %s logged out", self.conn, session.email)

    # -- logged in -------------------------------------------------------------

    def logged_in(self, session: NsSession, command: Command) -> list[Command]:
        verb = command.verb
        if verb == "CHG":
            return self.chg(session, command)
        if verb == "XFR":
            if command.args != ("SB",):
                raise CommandError(201)
            if session.status is None or session.status == "HDN":
                raise CommandError(913)
            cookie = self.ctx.state.new_sb_cookie(session.email)
            return [formats.xfr_sb(command.trid, self.ctx.sb, cookie)]
        return handler_for(verb, self.version)(self.ctx.state, session, command)

    def chg(self, session: NsSession, command: Command) -> list[Command]:
        args = command.args
        if not args or args[0] not in presence.STATUSES:
            raise CommandError(201)
        client_id = session.client_id
        if self.version >= TWEENER and len(args) > 1:
            if not args[1].isdigit() or len(args[1]) > 10:
                raise CommandError(201)
            client_id = int(args[1])
        msnobj = args[2] if self.version >= MSNOBJ and len(args) > 2 else ""
        if len(msnobj) > MAX_MSNOBJ:
            raise CommandError(201)
        state = self.ctx.state
        first = session.status is None
        before = presence.audience(state, session.email)
        changed = (client_id, msnobj) != (session.client_id, session.msnobj)
        session.status = args[0]
        session.client_id = client_id
        session.msnobj = msnobj
        presence.announce(state, session.email, before, force=changed and not first)
        replies = [formats.chg(command.trid, self.version, session.status, client_id, msnobj)]
        if first:
            replies += presence.initial(state, session, command.trid)
            if self.version >= CHALLENGES:
                self.conn.nursery.start_soon(self.challenger)
        return replies

    # -- challenges ------------------------------------------------------------

    async def challenger(self) -> None:
        """Send CHL now (and every ``challenge_interval``); close if a QRY is late."""
        config = self.ctx.config
        while True:
            self.challenge = "".join(str(secrets.randbelow(10)) for _ in range(20))
            self.answered = trio.Event()
            self.conn.post(Command("CHL", 0, (self.challenge,)))
            with trio.move_on_after(config.chl_timeout):
                await self.answered.wait()
            if not self.answered.is_set():
                self.conn.kick("no QRY in time")
                return
            if config.challenge_interval is None:
                return
            await trio.sleep(config.challenge_interval)

    async def qry(self, command: Command) -> bool:
        if self.challenge is None:
            raise CommandError(715)
        payload = (command.payload or b"").decode("ascii", "replace")
        product = command.args[0] if len(command.args) == 1 else ""
        if self.version >= CHL_MSNP11:
            key11 = CHALLENGE_KEYS_11.get(product)
            expected = challenge_msnp11(self.challenge, key11) if key11 is not None else None
        else:
            key = CHALLENGE_KEYS.get(product)
            expected = challenge_md5(self.challenge, key) if key is not None else None
        if expected is None or payload != expected:
            logger.info("%s: wrong QRY, disconnecting", self.conn)
            await self.conn.send(formats.error(540, command.trid))
            return False
        self.challenge = None
        self.answered.set()
        await self.conn.send(Command("QRY", command.trid))
        return True


async def handle_notification(ctx: ServerContext, stream: trio.SocketStream) -> None:
    """Serve one client connection to the notification server."""
    conn = ctx.connection(stream, "NS")
    await conn.run(NotificationConnection(ctx, conn).run)
