"""msmgr/client/command: TrID allocation and sending commands (Net::Msmgr::Command->send).

Commands are ``msmgr.codec.Command`` objects; their Net::Msmgr type (Normal, Payload,
Async, Pseudo) is ``command.type``. Sending one allocates its TrID from the session's
counter, so TrIDs are unique across every connection of a session (NS and all SBs),
as Net::Msmgr's global counter made them.
"""

from __future__ import annotations

from typing import Protocol

from msmgr.codec import Command, Direction, has_trid
from msmgr.codec.transactions import TridCounter


class Sender(Protocol):
    """Anything commands are sent on (a ``Connection``)."""

    def send(self, command: Command) -> Command: ...


def needs_trid(command: Command) -> bool:
    """Whether a client sends ``command`` with a TrID (everything but PNG, OUT, pseudo)."""
    if command.pseudo:
        return False
    return has_trid(Direction.C2S, command.verb, None)


def make(verb: str, *args: str, payload: bytes | None = None) -> Command:
    """A new command to send (its TrID is allocated when it is sent)."""
    return Command(verb, None, tuple(args), payload)


def send(command: Command, connection: Sender) -> Command:
    """Send ``command`` on ``connection`` (Net::Msmgr's ``$command->send($conn)``).

    Allocates the TrID if the command needs one; returns the command, whose ``trid``
    is then set. A pseudo command is not sent (it is returned unchanged).
    """
    return connection.send(command)


__all__ = ["Sender", "TridCounter", "make", "needs_trid", "send"]
