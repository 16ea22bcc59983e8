"""msproxy/proxy/console: one readable line per command, and hexdumps for the PACKET flags.

A console line reads ``SB#7 >>> MSG 4 N 133 [text/plain 12B]``: the connection name
(its role and number), the direction (``>>>`` client to server, ``<<<`` server to
client, as in the protocol notes), the command line, and for payload commands a summary
of the payload (content type, size, ``binary`` when it is not UTF-8), never its bytes.
"""

from __future__ import annotations

from msmgr.codec import Command

ARROWS = {"c2s": ">>>", "s2c": "<<<"}
_MAX_LINE_SHOWN = 400


def payload_summary(payload: bytes) -> str:
    """``[text/plain 12B]``, ``[application/x-msnmsgrp2p 1202B binary]``, ``[xml 86B]``."""
    size = len(payload)
    kind = _content_type(payload)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        binary = " binary"
    else:
        binary = ""
    if kind:
        return f"[{kind} {size}B{binary}]"
    return f"[{size}B{binary}]"


def _content_type(payload: bytes) -> str:
    head = payload[:1024]
    start = head.find(b"Content-Type:")
    if start < 0:
        start = head.lower().find(b"content-type:")
    if start >= 0:
        value = head[start + 13 :].split(b"\n", 1)[0].split(b";", 1)[0]
        return value.strip().decode("ascii", "replace")
    if head.lstrip()[:1] == b"<":
        return "xml"
    return ""


def command_text(command: Command) -> str:
    """The command line (shortened when huge) and, for payload commands, the summary."""
    line = command.line
    if len(line) > _MAX_LINE_SHOWN:
        line = f"{line[:_MAX_LINE_SHOWN]}... ({len(line)} chars)"
    if command.payload is None:
        return line
    return f"{line} {payload_summary(command.payload)}"


def hexdump(data: bytes | bytearray, width: int = 16) -> str:
    """A classic offset / hex / ASCII dump of ``data``, one line per ``width`` bytes."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<{width * 3}} {text}")
    return "\n".join(lines)
