"""msmgr/client/notification: a logged-in session's work on its notification server.

``NotificationSession`` is the NS's ``core`` hook (``_ns_core``): it keeps the contact
lists and presence, answers ``CHL`` challenges, follows the PNG interval ``QNG`` gives,
and answers ``RNG`` invitations on a new switchboard; user handlers run after it. Beside
it are the requests a user makes of the NS (Net::Msmgr's ``ui_*``): ``sync``,
``set_state``, ``ping``, ``request``, ``new_conversation``.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

import trio

from msmgr.codec import Command, challenge_response
from msmgr.codec.versions import CHALLENGES, LIST_FORMAT_10
from msmgr.debug import NOTIFICATION_VERBS, Debug, flag_logger

from .address import parse_address
from .base import SessionBase
from .command import make
from .connection import Connection
from .conversation import Conversation, State, Switchboard
from .errors import ClientError, NotConnected, ProtocolMismatch, RequestTimeout
from .lists import STATES, ContactLists, unquote
from .versions import MIN_CLIENT_ID, MIN_MSNOBJ, MIN_VERSION, default_client_id

logger = logging.getLogger(__name__)

LIST_VERBS = frozenset({"SYN", "LST", "LSG", "BPR", "GTC", "BLP", "PRP", "ADD", "ADC", "REM"})


class NotificationSession(SessionBase):
    """The NS logic and requests of a session (see ``Session``)."""

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
            product, digest = challenge_response(command.args[-1], self.version or CHALLENGES)
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
        if (self.version or MIN_VERSION) >= LIST_FORMAT_10:
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
        board = Switchboard(
            self, host, port, ssid=cookie.split(".")[0], debug=ns.debug, accelerate=self.accelerate
        )
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
        board = Switchboard(
            self, host, port, ssid=sessid, debug=self.debug, accelerate=self.accelerate
        )
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
