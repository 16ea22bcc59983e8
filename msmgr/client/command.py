"""msmgr/client/command: TrID allocation and sending commands (Net::Msmgr::Command->send).

Commands are ``msmgr.codec.Command`` objects; their Net::Msmgr type (Normal, Payload,
Async, Pseudo) is ``command.type``. Sending one allocates its TrID from the session's
counter, so TrIDs are unique across every connection of a session (NS and all SBs),
as Net::Msmgr's global counter made them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msmgr.codec import Command, Direction, has_trid

if TYPE_CHECKING:
    from .connection import Connection


class TridCounter:
    """The session-wide TrID counter: ``next()`` returns 1, 2, 3, ..."""

    __slots__ = ("last",)

    def __init__(self, start: int = 0) -> None:
        self.last = start

    def next(self) -> int:
        """The next TrID (pre-incremented, so the first is 1)."""
        self.last += 1
        return self.last


def needs_trid(command: Command) -> bool:
    """Whether a client sends ``command`` with a TrID (everything but PNG, OUT, pseudo)."""
    if command.pseudo:
        return False
    return has_trid(Direction.C2S, command.verb, None)


def make(verb: str, *args: str, payload: bytes | None = None) -> Command:
    """A new command to send (its TrID is allocated when it is sent)."""
    return Command(verb, None, tuple(args), payload)


def send(command: Command, connection: Connection) -> Command:
    """Enqueue ``command`` on ``connection`` (Net::Msmgr's ``$command->send($conn)``).

    Allocates the TrID if the command needs one; returns the command, whose ``trid``
    is then set. A pseudo command is not sent (it is returned unchanged).
    """
    return connection.send(command)
