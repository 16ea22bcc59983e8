"""msmgr/client/base: what every part of a Session builds on (Net::Msmgr::Session's fields).

``SessionBase`` holds the session's state (account, server, versions, timeouts, lists,
conversations, the NS connection), owns the nursery its tasks run in, and dispatches
the session's (NS) handlers; logging out is here too, since leaving the nursery does it.
The NS logic (``notification``), the login dialogue (``login``) and the public
``Session`` (``session``) are built on it, in that order.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

import trio

from msmgr.codec import Command
from msmgr.codec.transactions import TridCounter
from msmgr.debug import Debug

from .address import parse_address
from .connection import DEFAULT_PORT, DEFAULT_SERVER, Connection
from .conversation import Conversation
from .errors import NotConnected
from .handlers import Handler, HandlerTable
from .interfaces import StreamOpener
from .lists import Contact, ContactLists
from .passport import DEFAULT_NEXUS, PassportClient
from .user import User
from .versions import DEFAULT_VERSION, MIN_VERSION, protocol_number

DEFAULT_PING_INTERVAL = 45.0  # seconds between PNGs until a QNG says otherwise


async def _open_tcp(host: str, port: int) -> trio.abc.Stream:
    return await trio.open_tcp_stream(host, port)


class SessionBase:
    """A session's state and nursery, without its protocol logic (see ``Session``)."""

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
        accelerate: bool | None = None,
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
        self.accelerate = accelerate
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

    async def __aenter__(self) -> Self:
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
