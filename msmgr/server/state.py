"""msmgr/server/state: everything the reference server knows, in memory and IO-free.

Connections register here (through an ``Outbox``, the only way to reach a client);
handlers look up accounts, online sessions and switchboards. Nothing here awaits, so
tests may inspect a running server's state between commands.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Protocol

from msmgr.codec import Command

from .accounts import Account, build_accounts
from .limits import (
    SB_COOKIES_PER_ACCOUNT,
    TICKET_LIFETIME,
    TICKETS_PER_ACCOUNT,
    LoginThrottle,
    Vouchers,
)

COOKIE_LIFETIME = 120.0
"""Seconds an XFR SB or RNG cookie stays valid."""


class Outbox(Protocol):
    """How handlers reach a client: queue a command, or close the connection."""

    def post(self, command: Command) -> None:
        """Queue ``command`` without blocking (a stalled client is dropped instead)."""

    def kick(self, reason: str) -> None:
        """Send what is queued, then close the connection."""

    def room(self) -> int:
        """How many more commands the queue takes before the client counts as stalled."""


@dataclass(eq=False)
class NsSession:
    """A logged-in notification-server connection of one account."""

    email: str
    version: int
    outbox: Outbox
    status: str | None = None  # None until the first CHG
    client_id: int = 0
    msnobj: str = ""  # URL-encoded MSNObject of the last CHG (MSNP9+), "" if none


@dataclass(eq=False)
class Participant:
    """A client inside a switchboard."""

    email: str
    name: str
    outbox: Outbox
    version: int = 2  # the MSNP version of the participant's NS session (IRO/JOI forms)
    caps: int = 0  # its client capabilities (the CHG client id), shown from MSNP12


@dataclass(eq=False)
class SbSession:
    """One switchboard session: its id, participants and pending invitations."""

    sessid: int
    participants: dict[str, Participant] = field(default_factory=dict)
    invites: dict[str, tuple[str, float]] = field(default_factory=dict)  # email -> cookie, time


def _sb_cookies() -> Vouchers:
    return Vouchers(COOKIE_LIFETIME, SB_COOKIES_PER_ACCOUNT)


def _tickets() -> Vouchers:
    return Vouchers(TICKET_LIFETIME, TICKETS_PER_ACCOUNT)


@dataclass
class ServerState:
    """Accounts, online sessions, switchboards, cookies, Passport tickets, failed logins."""

    accounts: dict[str, Account]
    sessions: dict[str, NsSession] = field(default_factory=dict)
    switchboards: dict[int, SbSession] = field(default_factory=dict)
    sb_cookies: Vouchers = field(default_factory=_sb_cookies)
    tickets: Vouchers = field(default_factory=_tickets)  # "t=...&p=..." per e-mail
    logins: LoginThrottle = field(default_factory=LoginThrottle)
    internal_errors: int = 0  # connections ended by a server bug (tests assert 0)

    @classmethod
    def from_users(cls, users: dict[str, str], names: dict[str, str] | None = None) -> ServerState:
        """A fresh state serving ``users`` (e-mail -> password), optionally ``names``."""
        return cls(build_accounts(users, names))

    # -- NS sessions -----------------------------------------------------------

    def register(self, session: NsSession) -> NsSession | None:
        """Make ``session`` the account's online session; return the one it replaces."""
        old = self.sessions.get(session.email)
        self.sessions[session.email] = session
        return old

    def unregister(self, session: NsSession) -> bool:
        """Forget ``session`` if it is still the account's current one; return whether it was."""
        if self.sessions.get(session.email) is session:
            del self.sessions[session.email]
            return True
        return False

    def online(self, email: str) -> NsSession | None:
        """The account's session if it has set a status (HDN included), else None."""
        session = self.sessions.get(email)
        if session is None or session.status is None:
            return None
        return session

    # -- switchboards ----------------------------------------------------------

    def new_sb_cookie(self, email: str) -> str:
        """A cookie for ``email``'s XFR SB, valid once for COOKIE_LIFETIME seconds."""
        cookie = f"{secrets.randbelow(10**8)}.{int(time.time())}.{secrets.randbelow(10**5)}"
        self.sb_cookies.issue(email, cookie, time.monotonic())
        return cookie

    def take_sb_cookie(self, email: str, cookie: str) -> bool:
        """Use up an XFR SB cookie; True if it was issued to ``email`` and is fresh."""
        return self.sb_cookies.take(email, cookie, time.monotonic())

    def new_switchboard(self) -> SbSession:
        """A new empty switchboard with an unused session id."""
        sessid = secrets.randbelow(10**8) + 1
        while sessid in self.switchboards:
            sessid = secrets.randbelow(10**8) + 1
        board = SbSession(sessid)
        self.switchboards[sessid] = board
        return board

    def invite(self, board: SbSession, email: str) -> str:
        """Record an invitation of ``email`` to ``board``; return its RNG cookie."""
        cookie = f"{int(time.time())}.{secrets.randbelow(10**5)}"
        board.invites[email] = (cookie, time.monotonic())
        return cookie

    def take_invite(self, email: str, cookie: str, sessid: int) -> SbSession | None:
        """Use up an RNG invitation; the switchboard if it matches and is fresh."""
        board = self.switchboards.get(sessid)
        if board is None:
            return None
        entry = board.invites.get(email)
        if entry is None or entry[0] != cookie:
            return None
        del board.invites[email]
        if time.monotonic() - entry[1] >= COOKIE_LIFETIME:
            return None
        return board

    def drop_if_empty(self, board: SbSession) -> None:
        """Forget ``board`` once its last participant has left."""
        if not board.participants:
            self.switchboards.pop(board.sessid, None)

    # -- Passport --------------------------------------------------------------

    def issue_ticket(self, email: str) -> str:
        """A new random Passport ticket ``t=...&p=...`` valid for ``email`` only."""
        ticket = f"t={secrets.token_urlsafe(48)}$$&p={secrets.token_urlsafe(48)}$$"
        self.tickets.issue(email, ticket, time.monotonic())
        return ticket

    def take_ticket(self, email: str, ticket: str) -> bool:
        """Use up ``ticket``; True if it was issued for ``email`` and is fresh."""
        return self.tickets.take(email, ticket, time.monotonic())

    # -- housekeeping ----------------------------------------------------------

    def sweep(self, now: float | None = None) -> int:
        """Forget expired tickets, cookies and invitations and stale failed-login counts.

        Returns how many entries went. ``now`` defaults to the monotonic clock.
        """
        if now is None:
            now = time.monotonic()
        removed = self.tickets.sweep(now) + self.sb_cookies.sweep(now) + self.logins.sweep(now)
        for board in self.switchboards.values():
            stale = [
                e for e, (_, issued) in board.invites.items() if now - issued >= COOKIE_LIFETIME
            ]
            for email in stale:
                del board.invites[email]
            removed += len(stale)
        return removed
