"""msmgr/codec/command: one MSNP command, as read from the wire or built in code.

Strategy: a command keeps the exact bytes it was read from (``raw``), so writing it
back out is a copy, never a re-encoding. The parsed fields (verb, TrID, arguments,
payload) are for looking at. A command built in code has no ``raw``; it serialises
canonically: ``VERB[ TRID][ ARG]*[ LEN]\\r\\n[PAYLOAD]`` where ``LEN`` is computed from
the payload, so the byte count on the line is always right.

The byte count of a payload command is *not* one of ``args``: it is derived from
``payload``. That keeps the line and the payload consistent by construction. A command
that would not read back the same (a verb that is not one, an argument with a space or
a line feed, a negative TrID) is refused with ``LocalProtocolError`` when serialised.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .errors import LocalProtocolError


class Direction(enum.Enum):
    """Which way a command travels: client to server or server to client."""

    C2S = "c2s"
    S2C = "s2c"

    @property
    def reverse(self) -> Direction:
        """The other direction (C2S for S2C and vice versa)."""
        return Direction.S2C if self is Direction.C2S else Direction.C2S


class CommandType(enum.IntEnum):
    """Net::Msmgr's four kinds of command, with its numeric values."""

    NORMAL = 1  # has a TrID, no payload
    PAYLOAD = 2  # has a payload (and, when sent by a client, a TrID)
    ASYNC = 3  # no TrID, no payload
    PSEUDO = 4  # never on the wire: a handler key such as "login" or "close"


@dataclass(slots=True, eq=True)
class Command:
    """An MSNP command: a line, and for payload commands the payload bytes after it.

    Attributes:
        verb: three upper-case letters (``"MSG"``) or a three-digit error code
            (``"911"``); for pseudo commands the handler key (``"login"``).
        trid: the transaction id, or None where the command carries none.
        args: the parameters after the TrID, without the payload byte count.
        payload: the payload bytes of a payload command, else None.
        raw: the exact bytes this command was read from (line, line ending and
            payload), or None for a command built in code.
        pseudo: True for a pseudo command (never serialised).
        context: objects a pseudo command carries to its handlers (a Conversation,
            a Session); always empty for wire commands.

    The C accelerator of the Framer (``_cframe.c``) makes wire commands by filling these
    slots directly, without calling ``__init__``: keep ``__init__`` free of logic.
    """

    verb: str
    trid: int | None = None
    args: tuple[str, ...] = ()
    payload: bytes | None = None
    raw: bytes | None = field(default=None, compare=False)
    pseudo: bool = False
    context: tuple[Any, ...] = field(default=(), compare=False)

    @classmethod
    def make_pseudo(cls, name: str, *context: Any) -> Command:
        """A pseudo command (``login``, ``close``, ``conversation``) for handlers."""
        return cls(verb=name, pseudo=True, context=context)

    @property
    def type(self) -> CommandType:
        """The Net::Msmgr type: Normal, Payload, Async or Pseudo."""
        if self.pseudo:
            return CommandType.PSEUDO
        if self.payload is not None:
            return CommandType.PAYLOAD
        if self.trid is None:
            return CommandType.ASYNC
        return CommandType.NORMAL

    @property
    def is_error(self) -> bool:
        """True for a numeric error reply (``911 7``)."""
        return self.verb.isdigit()

    @property
    def line(self) -> str:
        """The command line without line ending (and without the payload)."""
        return line_bytes(self).decode("utf-8", "replace")

    def canonical_bytes(self) -> bytes:
        """The canonical serialisation, ignoring ``raw``.

        Raises:
            LocalProtocolError: the command cannot be sent as it is: a pseudo command, a
                verb that is not three capital letters or digits, an argument holding a
                space or a line feed, a negative TrID.
        """
        if self.pseudo:
            raise LocalProtocolError(f"pseudo command {self.verb!r} has no wire form")
        _check(self)
        head = canonical_line(self.verb, self.trid, self.args, self.payload)
        if self.payload is None:
            return head
        return head + self.payload

    def to_bytes(self) -> bytes:
        """The bytes to send: exactly ``raw`` when the command was read, else canonical."""
        if self.raw is not None:
            return self.raw
        return self.canonical_bytes()

    def with_trid(self, trid: int | None) -> Command:
        """A copy with another TrID (and no ``raw``, so it serialises canonically)."""
        return Command(self.verb, trid, self.args, self.payload)

    def __str__(self) -> str:
        text = self.line
        if self.payload is not None:
            text += f" <{len(self.payload)} payload bytes>"
        return text


def is_verb(token: str) -> bool:
    """Whether ``token`` is an MSNP verb: three capital letters, or three digits (an error)."""
    return len(token) == 3 and token.isascii() and (token.isupper() or token.isdigit())


def _check(command: Command) -> None:
    if not is_verb(command.verb):
        raise LocalProtocolError(f"{command.verb!r} is not an MSNP verb")
    if command.trid is not None and command.trid < 0:
        raise LocalProtocolError(f"negative TrID {command.trid} in {command.verb}")
    for arg in command.args:
        if " " in arg or "\n" in arg:
            raise LocalProtocolError(f"{command.verb} argument {arg!r} holds a space or LF")


def canonical_line(
    verb: str, trid: int | None, args: tuple[str, ...], payload: bytes | None
) -> bytes:
    """``VERB[ TRID][ ARGS][ LEN]\\r\\n`` as bytes, the count computed from ``payload``."""
    parts = [verb]
    if trid is not None:
        parts.append(str(trid))
    parts.extend(args)
    if payload is not None:
        parts.append(str(len(payload)))
    return (" ".join(parts) + "\r\n").encode("utf-8", "surrogateescape")


def line_bytes(command: Command) -> bytes:
    """The command line of ``command`` (no line ending, no payload), as it was or would be sent."""
    if command.raw is not None:
        data = command.raw
    elif command.pseudo:
        raise LocalProtocolError(f"pseudo command {command.verb!r} has no wire form")
    else:  # (unchecked: a command that cannot be sent can still be shown)
        data = canonical_line(command.verb, command.trid, command.args, command.payload)
    end = data.find(b"\n")
    if end < 0:  # pragma: no cover - a framed command always has a line end
        return data
    if end > 0 and data[end - 1] == 0x0D:
        return data[: end - 1]
    return data[:end]
