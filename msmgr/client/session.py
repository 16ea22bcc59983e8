"""msmgr/client/session: log in, keep presence, hold conversations (Net::Msmgr::Session).

Strategy: ``login()`` is one coroutine that walks the whole login (VER, INF or CVR,
USR MD5 or TWN + Passport, XFR NS redirects) with awaited requests, so every step has
a timeout and every failure is an exception. Once logged in, the NS connection's
``core`` hook (``_ns_core``) keeps the state: contact lists and presence, CHL answers,
the PNG interval from QNG, and RNG invitations (answered on a new switchboard). User
handlers registered with ``add_handler`` run after it, for every NS the session uses.

All background tasks (each connection's reader and writer, the keep-alive, answering
RNGs) run in the session's nursery: ``async with Session(...)`` (or ``open_session``)
owns it, and leaving it logs out and closes every connection.

Supported protocol versions: MSNP2-7 (``USR MD5``) and MSNP8-12 (``USR TWN`` with a
Passport 1.4 ticket; list sync by ``SYN``, MSNP10+ with timestamps and ``N=``/``F=``/
``C=`` fields). MSNP13 and later keep the contact lists in the SOAP address book
(``ADL``; from MSNP15 also an SSO login), which this library does not speak: asking
for them (``protocol="MSNP13"``) is refused with ``ValueError`` when the Session is
made, rather than logging in to empty lists.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Any

import trio

from msmgr.codec import Command, challenge_response, parse_version
from msmgr.codec.tables import MAX_VERSION
from msmgr.debug import NOTIFICATION_VERBS, Debug, flag_logger

from .address import parse_address
from .command import TridCounter, make
from .connection import DEFAULT_PORT, DEFAULT_SERVER, Connection
from .conversation import Conversation, State
from .errors import (
    AuthenticationError,
    ClientError,
    ConnectionLost,
    NotConnected,
    ProtocolMismatch,
    RequestTimeout,
    ServerError,
    error_meaning,
)
from .handlers import Handler, HandlerTable
from .lists import STATES, Contact, ContactLists, unquote
from .passport import DEFAULT_NEXUS, PassportClient
from .switchboard import Switchboard
from .user import User
from .versions import MIN_CLIENT_ID, MIN_MSNOBJ, cvr_args, default_client_id

logger = logging.getLogger(__name__)

MIN_VERSION = 2
DEFAULT_VERSION = 8  # highest version offered: MSNP8 (TWN), falling back to MD5 (MSNP7..2)
MAX_SUPPORTED = 12  # MSNP13+ need the SOAP address book (and 15+ SSO): not implemented
MIN_TWN = 8  # MSNP8+ log in with Passport 1.4 (TWN); older ones with MD5
MIN_STAMPED_SYN = 10  # MSNP10+: SYN carries two timestamps instead of a list version
MAX_REDIRECTS = 5
DEFAULT_PING_INTERVAL = 45.0  # seconds between PNGs until a QNG says otherwise
LIST_VERBS = frozenset({"SYN", "LST", "LSG", "BPR", "GTC", "BLP", "PRP", "ADD", "ADC", "REM"})

StreamOpener = Callable[[str, int], Awaitable[trio.abc.Stream]]


def protocol_number(protocol: str | int) -> int:
    """``"MSNP8"`` or ``8`` -> 8.

    Raises:
        ValueError: not a protocol name, or outside the supported MSNP2-MSNP12 (the
            message says why: MSNP13-18 need the SOAP address book, MSNP19+ do not exist).
    """
    number = protocol if isinstance(protocol, int) else parse_version(protocol.upper())
    if number is not None and number > MAX_VERSION:
        raise ValueError(
            f"there is no MSNP{number} (the protocol ends at MSNP{MAX_VERSION}); the client"
            f" speaks MSNP{MIN_VERSION}..MSNP{MAX_SUPPORTED}: {protocol!r}"
        )
    if number is not None and number > MAX_SUPPORTED:
        raise ValueError(
            f"MSNP{number} is not supported (its contact lists live in the SOAP address"
            f" book); the client speaks MSNP{MIN_VERSION}..MSNP{MAX_SUPPORTED}: {protocol!r}"
        )
    if number is None or not number >= MIN_VERSION:
        raise ValueError(f"protocol must be MSNP{MIN_VERSION}..MSNP{MAX_SUPPORTED}: {protocol!r}")
    return number


async def _open_tcp(host: str, port: int) -> trio.abc.Stream:
    return await trio.open_tcp_stream(host, port)


class Session:
    """A login session: the NS connection, the lists and presence, and the conversations.

    Args:
        user: the account (or a handle, with ``password``).
        server: the DS (or NS) to start at, ``(host, port)`` or ``"host:port"``.
        protocol: the highest version to offer (``"MSNP8"``); all down to ``min_protocol``
            are offered in VER, the server picks one.
        nexus_url: the Passport 1.4 nexus (MSNP8+).
        contact_lists: the lists of an earlier session of the same account: ``sync()``
            then sends their version (timestamps) and keeps them if they are current.
        debug: Net::Msmgr debug flags (copied to the connections).
        nursery: run the background tasks here instead of in a nursery of our own
            (then ``async with`` is optional; call ``aclose()`` when done).
    """

    def __init__(
        self,
        user: User | str,
        password: str | None = None,
        *,
        server: tuple[str, int] | str = (DEFAULT_SERVER, DEFAULT_PORT),
        protocol: str | int = DEFAULT_VERSION,
        min_protocol: str | int = MIN_VERSION,
        nexus_url: str = DEFAULT_NEXUS,
        debug: Debug | int = Debug.NONE,
        connect_timeout: float = 15.0,
        request_timeout: float = 30.0,
        login_timeout: float = 60.0,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        open_stream: StreamOpener | None = None,
        passport: PassportClient | None = None,
        contact_lists: ContactLists | None = None,
        nursery: trio.Nursery | None = None,
    ) -> None:
        if isinstance(user, str):
            if password is None:
                raise TypeError("a password is needed with a handle")
            user = User(user, password)
        self.user = user
        self.server = parse_address(server) if isinstance(server, str) else server
        self.max_version = protocol_number(protocol)
        self.min_version = protocol_number(min_protocol)
        if self.min_version > self.max_version:
            raise ValueError("min_protocol is higher than protocol")
        self.debug = Debug(debug)
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.login_timeout = login_timeout
        self.ping_interval = ping_interval
        self.open_stream: StreamOpener = open_stream or _open_tcp
        self.passport = passport or PassportClient(nexus_url, timeout=request_timeout)
        self.trids = TridCounter()
        self.handlers = HandlerTable()  # shared by every NS connection of this session
        self.contact_lists = contact_lists if contact_lists is not None else ContactLists()
        self.conversations: set[Conversation] = set()
        self.ns: Connection | None = None
        self.version: int | None = None
        self.friendly_name = ""
        self.logged_in = False
        self.close_reason: str | None = None
        self._nursery = nursery
        self._stack: AsyncExitStack | None = None
        self._sync_done = trio.Event()
        self._logged_out = trio.Event()
        self._ping_scope: trio.CancelScope | None = None

    # -- nursery ownership ----------------------------------------------------------------

    @property
    def nursery(self) -> trio.Nursery:
        """The nursery that owns the session's tasks."""
        if self._nursery is None:
            raise RuntimeError("use 'async with Session(...)' (or pass nursery=) first")
        return self._nursery

    async def __aenter__(self) -> Session:
        if self._nursery is None:
            self._stack = AsyncExitStack()
            self._nursery = await self._stack.enter_async_context(trio.open_nursery())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        stack, self._stack = self._stack, None
        try:
            await self.aclose()
        except BaseException:
            if stack is None:
                raise
            assert self._nursery is not None
            self._nursery.cancel_scope.cancel()
            self._nursery = None
            await stack.aclose()
            raise
        if stack is None:
            return None
        assert self._nursery is not None
        self._nursery.cancel_scope.cancel()
        self._nursery = None
        try:
            return await stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # The block's own exception, alone: raise it as it was, not wrapped in a group.
            if exc is not None and len(group.exceptions) == 1 and group.exceptions[0] is exc:
                raise exc from exc.__cause__
            raise

    async def aclose(self) -> None:
        """Log out (briefly, even when cancelled) and close every connection."""
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await self.logout()

    # -- properties as Net::Msmgr ---------------------------------------------------------

    @property
    def handle(self) -> str:
        """Our handle (e-mail address)."""
        return self.user.user

    @property
    def lists(self) -> dict[str, list[str]]:
        """``{"FL": [...], "AL": [...], "BL": [...], "RL": [...]}`` (Net::Msmgr's ``list``)."""
        return self.contact_lists.lists

    @property
    def contacts(self) -> dict[str, Contact]:
        """Every contact of the lists, by handle, with name, lists and groups."""
        return self.contact_lists.contacts

    @property
    def roster(self) -> dict[str, str]:
        """Online contacts: handle -> status code (``"NLN"``, ``"AWY"``...)."""
        return {email: p.status for email, p in self.contact_lists.presence.items()}

    @property
    def list_version(self) -> int:
        """The contact list version of the last sync (MSNP2-9)."""
        return self.contact_lists.version

    @property
    def list_stamps(self) -> tuple[str, ...]:
        """The two list timestamps of the last sync (MSNP10-12), ``()`` before one."""
        return self.contact_lists.stamps

    def add_handler(self, handler: Handler, *commands: str) -> None:
        """Call ``handler`` for NS commands or pseudo events (``login``, ``conversation``...)."""
        self.handlers.add(handler, *commands, owner=self)

    def remove_handler(self, handler: Handler, *commands: str) -> None:
        """Stop calling ``handler`` for ``commands`` (all names if none given)."""
        self.handlers.remove(handler, *commands)

    async def dispatch(self, command: Command) -> None:
        """Call the session (NS) handlers of ``command``."""
        name = self.ns.name if self.ns is not None else "Session"
        await self.handlers.dispatch(command, owner=self, conn_name=name, debug=self.debug)

    async def _post(self, event: Command) -> None:
        """Dispatch a pseudo event in order with the NS commands read so far."""
        if self.ns is not None:
            await self.ns.post(event)
        else:
            await self.dispatch(event)

    def _require_ns(self) -> Connection:
        if self.ns is None or not self.ns.open:
            raise NotConnected("not logged in")
        return self.ns

    # -- login ----------------------------------------------------------------------------

    def offered_versions(self) -> list[str]:
        """The versions offered in VER, highest first."""
        return [f"MSNP{v}" for v in range(self.max_version, self.min_version - 1, -1)]

    async def login(self) -> Session:
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
            conn = Connection(self, host, port, name=name, debug=self.debug, handlers=self.handlers)
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
            if version >= MIN_TWN:
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
        has_name = len(reply.args) > 2 and version < 10
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

    # -- the NS's own processing ----------------------------------------------------------

    async def _ns_core(self, command: Command) -> None:
        verb = command.verb
        ns = self.ns
        if verb in LIST_VERBS or verb in ("ILN", "NLN", "FLN"):
            self.contact_lists.handle(command, self.version)
            if not self.contact_lists.syncing:
                self._sync_done.set()
        if verb == "PRP" and command.args[-2:-1] == ("MFN",):  # MSNP10+: our friendly name
            self.friendly_name = unquote(command.args[-1])
        if verb in NOTIFICATION_VERBS and self.debug & Debug.NOTIFICATION:
            flag_logger(Debug.NOTIFICATION).debug("%s", command)
        if verb == "CHL" and command.args and ns is not None:
            product, digest = challenge_response(command.args[-1], self.version or 8)
            ns.send(Command("QRY", None, (product,), digest.encode("ascii")))
        elif verb == "QNG" and command.args and command.args[0].isdigit():
            # MSNP9+: seconds until the next PNG is due
            self.ping_interval = max(1.0, float(command.args[0]))
            if self._ping_scope is not None:
                self._ping_scope.deadline = trio.current_time() + self.ping_interval
        elif verb == "RNG" and len(command.args) >= 4:
            self.nursery.start_soon(self._answer_ring, command)
        elif verb == "OUT" and not (ns is not None and ns.shutting_down):
            reason = command.args[0] if command.args else "no reason given"
            self.close_reason = f"server logged us out ({reason})"
            logger.info("%s", self.close_reason)
        elif verb == "close":
            self.close_reason = self.close_reason or (
                ns.close_reason if ns is not None else "connection closed"
            )
            if self.logged_in:
                await self.logout()

    async def _keepalive(self, conn: Connection) -> None:
        while True:
            with trio.move_on_after(self.ping_interval) as scope:
                self._ping_scope = scope
                await conn.wait_closed()
            if conn.closed:
                return
            try:
                conn.send(Command("PNG"))
            except NotConnected:
                return

    # -- user requests (Net::Msmgr's ui_*) ----------------------------------------------

    async def sync(self, *, time_limit: float | None = None) -> ContactLists:
        """Synchronise the contact lists (``SYN``) and wait until they are complete.

        The request carries what the lists hold from their last sync (on this session,
        or on an earlier one given the same ``contact_lists``): MSNP2-9 the list version
        (``SYN trid 12``), MSNP10-12 the two timestamps (``SYN trid ts ts``; ``0 0`` when
        nothing is cached). When they are current the server answers with that ``SYN``
        line alone and the lists are kept; otherwise the whole lists follow and replace
        what was known. A sync that fails half-way forgets the version (timestamps), so
        the next one asks for everything.
        """
        ns = self._require_ns()
        lists = self.contact_lists
        if lists.account != self.handle:  # a cache of another account's lists is no cache
            lists.forget_sync()
            lists.account = self.handle
        lists.start_sync()
        self._sync_done = trio.Event()
        if (self.version or 0) >= MIN_STAMPED_SYN:
            request = make("SYN", *(lists.stamps if len(lists.stamps) == 2 else ("0", "0")))
        else:
            request = make("SYN", str(lists.version))
        try:
            await ns.request(request, time_limit=time_limit)
            limit = self.request_timeout if time_limit is None else time_limit
            with trio.move_on_after(limit) as scope:
                await self._sync_done.wait()
            if scope.cancelled_caught:
                raise RequestTimeout(f"the contact lists did not arrive within {limit} s")
        except BaseException:
            lists.forget_sync()  # half a sync: the version (timestamps) no longer say it all
            raise
        return lists

    async def set_state(
        self, state: str = "NLN", client_id: int | None = None, msn_object: str | None = None
    ) -> Command:
        """Set our status (``CHG``): NLN BSY IDL BRB AWY PHN LUN HDN.

        From MSNP8 on ``CHG`` carries a client id (capability flags): ``client_id``, by
        default the one of the client that spoke this version (``versions.CLIENT_IDS``).
        From MSNP9 on ``msn_object`` (the MSNObject XML, e.g. the display picture) may
        follow it; it is URL-encoded here.

        Raises:
            ValueError: an unknown state, or a client id / MSNObject the version lacks.
        """
        state = state.upper()
        if state not in STATES:
            raise ValueError(f"state must be one of {' '.join(STATES)}, not {state!r}")
        ns = self._require_ns()
        version = self.version or MIN_VERSION
        if client_id is not None and version < MIN_CLIENT_ID:
            raise ValueError(f"CHG has no client id before MSNP{MIN_CLIENT_ID} (MSNP{version})")
        if msn_object is not None and version < MIN_MSNOBJ:
            raise ValueError(f"CHG has no MSNObject before MSNP{MIN_MSNOBJ} (MSNP{version})")
        args: tuple[str, ...] = (state,)
        client_id = default_client_id(version) if client_id is None else client_id
        if client_id is not None:
            args += (str(client_id),)
        if msn_object is not None:
            args += (urllib.parse.quote(msn_object, safe=""),)
        return await ns.request(make("CHG", *args))

    def ping(self) -> Command:
        """Send ``PNG`` now (the session also does it on its own)."""
        return self._require_ns().send(Command("PNG"))

    async def request(self, command: Command, **kwargs: Any) -> Command:
        """Send any NS request and await its reply (see ``Connection.request``)."""
        return await self._require_ns().request(command, **kwargs)

    # -- conversations --------------------------------------------------------------------

    async def new_conversation(self, *invitees: str, wait: bool = True) -> Conversation:
        """Start a conversation (``XFR SB``, SB ``USR``) and invite ``invitees``.

        Args:
            wait: wait until each invitee has joined (else only for ``CAL ... RINGING``).
        """
        ns = self._require_ns()
        reply = await ns.request(make("XFR", "SB"))
        if reply.args[:1] != ("SB",) or len(reply.args) < 4:
            raise ProtocolMismatch(f"unexpected answer to XFR SB: {reply.line!r}")
        host, port = parse_address(reply.args[1])
        cookie = reply.args[3]
        conversation = Conversation(self)
        board = Switchboard(self, host, port, ssid=cookie.split(".")[0], debug=ns.debug)
        conversation.attach(board)
        try:
            await board.connect()
            self.conversations.add(conversation)
            await self._post(Command.make_pseudo("conversation", conversation))
            await board.request(make("USR", self.handle, cookie))
            conversation.state = State.CONNECTED
            for email in invitees:
                await conversation.invite(email, wait=wait)
        except BaseException:
            self.conversations.discard(conversation)
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await board.close()
            raise
        return conversation

    async def _answer_ring(self, ring: Command) -> None:
        sessid, address, _cki, cookie = ring.args[:4]
        try:
            host, port = parse_address(address)
        except ValueError as exc:
            logger.warning("ignoring RNG with a bad address: %s", exc)
            return
        conversation = Conversation(self)
        conversation.inviter = ring.args[4] if len(ring.args) > 4 else None
        board = Switchboard(self, host, port, ssid=sessid, debug=self.debug)
        conversation.attach(board)
        try:
            await board.connect()
            self.conversations.add(conversation)
            await self._post(Command.make_pseudo("conversation", conversation))
            await board.request(make("ANS", self.handle, cookie, sessid))
            conversation.state = State.CONNECTED
        except ClientError as exc:
            logger.warning("could not answer %s: %s", ring.line, exc)
            self.conversations.discard(conversation)
            await board.close()

    # -- logout ---------------------------------------------------------------------------

    async def logout(self, *_: Any) -> None:
        """Leave every conversation, send ``OUT`` to the NS and close it (each cleanly)."""
        async with trio.open_nursery() as nursery:
            for conversation in list(self.conversations):
                nursery.start_soon(conversation.shutdown)
        ns = self.ns
        self.logged_in = False
        if ns is not None:
            await ns.shutdown()
        self._logged_out.set()

    async def wait_logged_out(self) -> None:
        """Wait until the session is logged out (by ``logout`` or the server)."""
        await self._logged_out.wait()


@asynccontextmanager
async def open_session(
    user: User | str, password: str | None = None, *, login: bool = True, **options: Any
) -> AsyncIterator[Session]:
    """A Session, logged in (unless ``login=False``); logged out when the block ends."""
    async with Session(user, password, **options) as session:
        if login:
            await session.login()
        yield session


__all__ = [
    "DEFAULT_VERSION",
    "MIN_VERSION",
    "ConnectionLost",
    "Session",
    "open_session",
    "protocol_number",
]
