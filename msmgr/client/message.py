"""msmgr/client/message: the MIME bodies carried by switchboard MSG commands.

Net::Msmgr left building the MIME text to the user; these helpers build the two kinds
every client sends (plain text, typing notification) and parse what arrives.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from msmgr.codec import Command

from .lists import unquote

TEXT_TYPE = "text/plain"
TYPING_TYPE = "text/x-msmsgscontrol"


def text_message(
    text: str,
    *,
    font: str = "Arial",
    effects: str = "",
    color: str = "0",
    charset: str = "0",
    pitch: str = "22",
) -> bytes:
    """A complete MIME text message (headers, blank line, UTF-8 text) for ``MSG``."""
    fmt = f"FN={urllib.parse.quote(font)}; EF={effects}; CO={color}; CS={charset}; PF={pitch}"
    head = (
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        f"X-MMS-IM-Format: {fmt}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + text.encode("utf-8")


def typing_message(handle: str) -> bytes:
    """The MIME control message saying ``handle`` is typing."""
    return (
        f"MIME-Version: 1.0\r\nContent-Type: {TYPING_TYPE}\r\nTypingUser: {handle}\r\n\r\n\r\n"
    ).encode()


@dataclass(slots=True)
class Message:
    """A received MSG: who sent it, its MIME headers and its body."""

    sender: str
    name: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """The MIME type without parameters, lower case (``"text/plain"``)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_text(self) -> bool:
        """True for a chat text message."""
        return self.content_type == TEXT_TYPE

    @property
    def is_typing(self) -> bool:
        """True for a typing notification."""
        return self.content_type == TYPING_TYPE

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")


def parse_message(command: Command) -> Message:
    """Split a received ``MSG sender name len`` + MIME payload into a Message.

    Raises:
        ValueError: ``command`` is not a MSG with a payload.
    """
    if command.verb != "MSG" or command.payload is None:
        raise ValueError(f"not a message: {command.line!r}")
    sender = command.args[0] if command.args else ""
    name = unquote(command.args[1]) if len(command.args) > 1 else ""
    data = command.payload
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    headers: dict[str, str] = {}
    if sep:
        for line in head.decode("utf-8", "replace").splitlines():
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
    else:
        body = data
    return Message(sender, name, headers, body)
