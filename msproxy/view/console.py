"""msproxy/view/console: the one line format of the live console and ``msproxy show``.

A line reads ``     0.378  SB#3  -> MSG 4 N 117  [text/plain, 117 bytes]``: seconds since
the capture (or the proxy) started, the connection name (its role and number), a marker
(``->`` client to server, ``<-`` server to client, ``**`` a connection event, ``!!`` an
error), then the command line with, for payload commands, a summary of the payload
(content type, size, ``binary`` when it is not text), never its bytes. Further lines
(payloads, hex dumps) are indented under it. Colours: green client, cyan server, red
errors and numeric replies, dim events; only where the caller decided to colour.

``ConsoleFormatter`` writes the proxy's log records that way: the debug flags' lines
(``msmgr.debug.*``, whose first argument is the connection name) and the proxy's own
warnings, so the console reads as ``msproxy show`` prints the capture.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from msmgr.codec import Command

from .payload import describe
from .payload import hexdump as payload_lines_hexdump

ARROWS = {"c2s": "->", "s2c": "<-"}
META = "**"
ERROR = "!!"
INDENT = " " * 8
COLORS = {"c2s": "32", "s2c": "36", META: "2", ERROR: "31", "num": "31"}
NAME_WIDTH = 4
_MAX_LINE_SHOWN = 400
_NUMERIC_REPLY = re.compile(r"<- \d{3}\b")
_PARENT = re.compile(r"parent=(#\d+)")


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
    return f"{line}  {payload_summary(command.payload)}"


def hexdump(data: bytes | bytearray) -> str:
    """A classic offset / hex / ASCII dump of ``data`` (as ``msproxy show --raw`` prints)."""
    return "\n".join(payload_lines_hexdump(bytes(data)))


def paint(text: str, tone: str) -> str:
    """``text`` in the ANSI colour of ``tone`` (a direction, ``**``, ``!!`` or ``num``)."""
    return f"\x1b[{COLORS.get(tone, COLORS[META])}m{text}\x1b[0m"


def tone_of(text: str) -> str:
    """The colour key of a line's text by its marker (``-> ...``, ``<- 911 ...``)."""
    if text.startswith("->"):
        return "c2s"
    if text.startswith("<-"):
        return "num" if _NUMERIC_REPLY.match(text) else "s2c"
    return ERROR if text.startswith(ERROR) else META


def layout(
    seconds: float | None,
    name: str,
    text: str,
    extra: list[str] | None = None,
    *,
    width: int = NAME_WIDTH,
    tone: str | None = None,
    color: bool = False,
) -> list[str]:
    """The printed lines: time, name, marked text (coloured when ``color``), then
    ``extra`` lines indented."""
    stamp = f"{seconds:10.3f}" if seconds is not None else " " * 9 + "?"
    if color:
        text = paint(text, tone if tone is not None else tone_of(text))
    return [f"{stamp}  {name:<{width}}  {text}", *(INDENT + line for line in extra or [])]


class ConsoleFormatter(logging.Formatter):
    """Formats the proxy's log records as ``msproxy show`` lines (set on the console's
    handler by ``msproxy run``): seconds since ``started``, the connection name of a
    debug flag's line, its marker and text; another logger's record has no name, and
    ``!!`` when it is a warning."""

    def __init__(
        self,
        *,
        color: bool = False,
        started: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.color = color
        self.started = clock() if started is None else started
        self.width = NAME_WIDTH
        self.names: dict[str, str] = {}  # "#2" -> "NS#2", as the lines name them

    def format(self, record: logging.LogRecord) -> str:
        seconds = record.created - self.started
        name = ""
        text = record.getMessage()
        if record.name.startswith("msmgr.debug.") and isinstance(record.args, tuple):
            if record.args and isinstance(record.msg, str) and record.msg.startswith("%s "):
                name = str(record.args[0])
                text = record.msg[3:] % record.args[1:]
                self.names.setdefault("#" + name.partition("#")[2], name)
                if " parent=#" in text:  # a connection's parent, named as show names it
                    text = _PARENT.sub(lambda m: "parent=" + self.names.get(m[1], m[1]), text)
        elif record.levelno >= logging.WARNING:
            text = f"{ERROR} {text}"
        else:
            text = f"{META} {text}"
        self.width = max(self.width, len(name))
        first, *rest = text.split("\n")
        tone = ERROR if record.levelno >= logging.WARNING else None
        lines = layout(seconds, name, first, rest, width=self.width, tone=tone, color=self.color)
        if record.exc_info:
            lines.append(self.formatException(record.exc_info))
        return "\n".join(lines)
