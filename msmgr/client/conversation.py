"""msmgr/client/conversation: one chat on its own switchboard (Net::Msmgr::Conversation).

A conversation is created by ``Session.new_conversation()`` (``XFR SB`` -> SB ``USR``)
or, when someone else starts one, by the session on ``RNG`` (SB ``ANS``). It tracks the
participants from ``IRO``/``JOI``/``BYE`` and sends messages. To receive messages, add an
``MSG`` handler on ``conversation.switchboard`` (or use ``parse_message`` in one).
"""

from __future__ import annotations

import enum
import logging

import trio

from msmgr.codec import Command
from msmgr.debug import Debug

from .command import make
from .connection import DEFAULT_DEBUG, Connection
from .errors import MessageNotDelivered, NotConnected, RequestTimeout
from .interfaces import ConnectionOwner, ConversationOwner
from .lists import unquote
from .message import text_message, typing_message

logger = logging.getLogger(__name__)

ACK_TYPES = ("U", "N", "A", "D")


class State(enum.IntEnum):
    """Net::Msmgr::Conversation's states, with its values."""

    DISCONNECTED = 0
    CONNECTED = 1


class Switchboard(Connection):
    """The connection of one conversation to its switchboard server; ``ssid`` names the session.

    Net::Msmgr::Switchboard (also importable from ``msmgr.client.switchboard``); it lives
    here because a switchboard and its conversation point at each other.
    """

    def __init__(
        self,
        session: ConnectionOwner,
        nserver: str,
        nsport: int,
        *,
        ssid: str,
        name: str | None = None,
        debug: Debug | int = DEFAULT_DEBUG,
        accelerate: bool | None = None,
    ) -> None:
        super().__init__(
            session,
            nserver,
            nsport,
            name=name or f"Switchboard Channel {ssid}",
            debug=debug,
            accelerate=accelerate,
        )
        self.ssid = ssid
        self.conversation: Conversation | None = None


class Conversation:
    """A switchboard conversation: its participants, and the way to talk to them."""

    Disconnected = State.DISCONNECTED
    Connected = State.CONNECTED

    def __init__(self, session: ConversationOwner, switchboard: Switchboard | None = None) -> None:
        self.session = session
        self.switchboard: Switchboard | None = None
        self.email: dict[str, str] = {}  # participants: handle -> friendly name
        self.capabilities: dict[str, int] = {}  # MSNP12+: handle -> client id (IRO/JOI)
        self.state = State.DISCONNECTED
        self.inviter: str | None = None  # who rang us (RNG), None if we started it
        self._changed = trio.Event()
        if switchboard is not None:
            self.attach(switchboard)

    def __repr__(self) -> str:
        ssid = self.switchboard.ssid if self.switchboard is not None else "-"
        return f"<Conversation {ssid} {self.state.name} {sorted(self.email)}>"

    def attach(self, switchboard: Switchboard) -> None:
        """Use ``switchboard`` for this conversation (its commands update the participants)."""
        self.switchboard = switchboard
        switchboard.conversation = self
        switchboard.core = self._core

    @property
    def sb(self) -> Switchboard:
        """The switchboard connection (raises NotConnected if there is none)."""
        if self.switchboard is None:
            raise NotConnected("the conversation has no switchboard yet")
        return self.switchboard

    def roster(self) -> list[str]:
        """The handles of the other participants, sorted."""
        return sorted(self.email)

    @property
    def connected(self) -> bool:
        """True while the switchboard session is established."""
        return self.state is State.CONNECTED

    # -- the switchboard's own processing -----------------------------------------------

    async def _core(self, command: Command) -> None:
        verb, args = command.verb, command.args
        if verb in ("USR", "ANS") and args[:1] == ("OK",):
            self.state = State.CONNECTED
        elif verb == "IRO" and len(args) >= 3:  # IRO trid idx total email name [caps]
            self.email[args[2]] = unquote(args[3]) if len(args) > 3 else ""
            self._note_caps(args[2], args[4:5])
        elif verb == "JOI" and args:  # JOI email name [caps]
            self.email[args[0]] = unquote(args[1]) if len(args) > 1 else ""
            self._note_caps(args[0], args[2:3])
        elif verb == "BYE" and args:
            self.email.pop(args[0], None)
            self.capabilities.pop(args[0], None)
        elif verb == "close":
            self._disconnected()
        else:
            return
        self._notify()

    def _note_caps(self, handle: str, caps: tuple[str, ...]) -> None:
        if caps and caps[0].isdigit():
            self.capabilities[handle] = int(caps[0])

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _disconnected(self) -> None:
        self.state = State.DISCONNECTED
        self.email.clear()
        self.capabilities.clear()
        self.session.conversations.discard(self)

    async def wait_for(
        self,
        handle: str | None = None,
        *,
        present: bool = True,
        time_limit: float | None = None,
    ) -> None:
        """Wait until ``handle`` (or anyone, if None) has joined (or, present=False, left).

        Raises:
            RequestTimeout: not within ``time_limit`` (default: the session's request timeout).
            NotConnected: the switchboard closed first.
        """
        limit = self.session.request_timeout if time_limit is None else time_limit

        def satisfied() -> bool:
            if handle is None:
                return bool(self.email) == present
            return (handle in self.email) == present

        with trio.move_on_after(limit) as scope:
            while not satisfied():
                if self.switchboard is not None and self.switchboard.closed:
                    raise NotConnected(f"{self.sb.name} closed ({self.sb.close_reason})")
                await self._changed.wait()
        if scope.cancelled_caught:
            who = handle or "a participant"
            what = "join" if present else "leave"
            raise RequestTimeout(f"{who} did not {what} within {limit} s")

    # -- talking -----------------------------------------------------------------------

    async def invite(
        self, email: str, *, wait: bool = False, time_limit: float | None = None
    ) -> Command:
        """Invite ``email`` (``CAL``); returns the ``CAL trid RINGING sessid`` reply.

        Args:
            wait: also wait until the invitee has joined (``JOI``).

        Raises:
            ServerError: 217 offline, 216 blocked, 208 bad handle, 215 already there, ...
        """
        reply = await self.sb.request(make("CAL", email), time_limit=time_limit)
        if wait:
            await self.wait_for(email, time_limit=time_limit)
        return reply

    async def send_message(
        self, message: str | bytes, ack: str = "N", *, time_limit: float | None = None
    ) -> Command:
        """Send a complete MIME message (``MSG trid ack len``); see ``text_message``.

        With ack ``A`` (or ``D``) wait for the switchboard's ``ACK``; with ``N`` a ``NAK``
        arrives only on failure (to the ``NAK`` handlers); with ``U`` nothing comes back.
        Returns the sent command (ack ``U``/``N``) or the ``ACK`` reply.

        Raises:
            ValueError: an unknown ack type.
            MessageNotDelivered: the switchboard answered ``NAK``.
        """
        if ack not in ACK_TYPES:
            raise ValueError(f"ack type must be one of {', '.join(ACK_TYPES)}, not {ack!r}")
        body = message.encode("utf-8") if isinstance(message, str) else message
        command = make("MSG", ack, payload=body)
        if ack in ("U", "N"):
            return self.sb.send(command)
        reply = await self.sb.request(command, accept=("ACK", "NAK"), time_limit=time_limit)
        if reply.verb == "NAK":
            raise MessageNotDelivered(f"{self.sb.name}: message {reply.trid} was not delivered")
        return reply

    async def send_text(
        self, text: str, ack: str = "N", *, font: str = "Arial", time_limit: float | None = None
    ) -> Command:
        """Send ``text`` as a plain-text chat message (built with ``text_message``)."""
        return await self.send_message(text_message(text, font=font), ack, time_limit=time_limit)

    def send_typing(self) -> Command:
        """Tell the others we are typing (``MSG U`` with a typing notification)."""
        return self.sb.send(make("MSG", "U", payload=typing_message(self.session.handle)))

    async def shutdown(self) -> None:
        """Leave: ``OUT`` and close the switchboard; forget the participants."""
        if self.switchboard is not None:
            await self.switchboard.shutdown()
        self._disconnected()
        self._notify()
