"""msmgr/debug: Net::Msmgr's debug flags, with the same names and bit values.

Each flag selects one kind of debug output. Code that honours a flag logs it to a
named logger (``msmgr.debug.<flag name in lower case>``, see ``flag_logger``), so a
program can route or silence each kind with ordinary ``logging`` configuration.
"""

from __future__ import annotations

import enum
import logging


class Debug(enum.IntFlag):
    """Net::Msmgr debug flags (bit mask), set on a Session, a Connection or the proxy."""

    NONE = 0
    PACKET_SEND = 1  # raw outbound bytes
    PACKET_RECV = 2  # raw inbound bytes
    COMMAND_SEND = 4  # each command sent, as text
    COMMAND_RECV = 8  # each command received, as text
    OPEN = 16  # connecting / connected
    CLOSE = 32  # connection closed
    CONFUSED = 64  # sending on a dead connection and other oddities
    HANDLER = 128  # each handler called
    NOTIFICATION = 256  # list and property notifications (GTC BLP PRP LSG ADD REM ...)


NOTIFICATION_VERBS = frozenset(
    {
        # the contact lists: the SYN burst, list changes, groups, privacy
        *("GTC", "BLP", "PRP", "LSG", "LST", "BPR", "SBP"),
        *("ADD", "REM", "ADC", "ADG", "RMG", "REG", "REA", "ADL", "RML"),
        # presence and notices
        *("ILN", "NLN", "FLN", "UBX", "UBN", "NOT"),
    }
)
"""The list and presence commands the ``NOTIFICATION`` flag shows (when the ``COMMAND_*``
flag of their direction is off), in the client library and in the proxy alike."""

DEBUG_PACKET_SEND = Debug.PACKET_SEND
DEBUG_PACKET_RECV = Debug.PACKET_RECV
DEBUG_COMMAND_SEND = Debug.COMMAND_SEND
DEBUG_COMMAND_RECV = Debug.COMMAND_RECV
DEBUG_OPEN = Debug.OPEN
DEBUG_CLOSE = Debug.CLOSE
DEBUG_CONFUSED = Debug.CONFUSED
DEBUG_HANDLER = Debug.HANDLER
DEBUG_NOTIFICATION = Debug.NOTIFICATION

ALL = Debug(511)


def parse_debug(text: str) -> Debug:
    """``"12"``, ``"0x0c"`` or ``"COMMAND_RECV,OPEN"`` (``DEBUG_`` prefix optional) -> flags.

    Raises:
        ValueError: an unknown name or a number outside 0..511.
    """
    text = text.strip()
    if not text:
        return Debug.NONE
    try:
        value = int(text, 0)
    except ValueError:
        value = None
    if value is not None:
        if not 0 <= value <= int(ALL):
            raise ValueError(f"debug flags must be between 0 and {int(ALL)}, not {value}")
        return Debug(value)
    flags = Debug.NONE
    for part in text.replace("|", ",").replace("+", ",").split(","):
        name = part.strip().upper().removeprefix("DEBUG_")
        if name == "ALL":
            flags |= ALL
            continue
        try:
            flags |= Debug[name]
        except KeyError:
            known = ", ".join(f.name for f in Debug if f.name and f is not Debug.NONE)
            raise ValueError(f"unknown debug flag {part.strip()!r} (known: {known}, ALL)") from None
    return flags


def flag_logger(flag: Debug) -> logging.Logger:
    """The logger that output selected by ``flag`` goes to: ``msmgr.debug.<name>``."""
    assert flag.name is not None, "one flag at a time"
    return logging.getLogger(f"msmgr.debug.{flag.name.lower()}")
