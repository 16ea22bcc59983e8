"""msproxy/view/console: one readable line per command, and hexdumps for the PACKET flags.

A console line reads ``SB#7 >>> MSG 4 N 133 [text/plain, 133 bytes]``: the connection name
(its role and number), the direction (``>>>`` client to server, ``<<<`` server to
client, as in the protocol notes), the command line, and for payload commands a summary
of the payload (content type, size, ``binary`` when it is not text; the same words as
``msproxy show``), never its bytes.
"""

from __future__ import annotations

from msmgr.codec import Command

from .payload import describe
from .payload import hexdump as payload_lines_hexdump

ARROWS = {"c2s": ">>>", "s2c": "<<<"}
_MAX_LINE_SHOWN = 400


def payload_summary(payload: bytes) -> str:
    """``[text/plain, 12 bytes]``, ``[application/x-msnmsgrp2p, 1250 bytes, binary]``."""
    return f"[{describe(payload)}]"


def command_text(command: Command) -> str:
    """The command line (shortened when huge) and, for payload commands, the summary."""
    line = command.line
    if len(line) > _MAX_LINE_SHOWN:
        line = f"{line[:_MAX_LINE_SHOWN]}... ({len(line)} chars)"
    if command.payload is None:
        return line
    return f"{line} {payload_summary(command.payload)}"


def hexdump(data: bytes | bytearray) -> str:
    """A classic offset / hex / ASCII dump of ``data`` (as ``msproxy show --raw`` prints)."""
    return "\n".join(payload_lines_hexdump(bytes(data)))
