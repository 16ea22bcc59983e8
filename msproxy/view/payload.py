"""msproxy/view/payload: describe and print payloads (MIME text, XML or binary)."""

from __future__ import annotations

from msproxy.capture.records import is_text as is_text  # (the capture's rule, re-exported)


def content_type(payload: bytes) -> str | None:
    """The media type of a MIME-like payload (``text/plain``), without parameters."""
    head, _, _ = payload.partition(b"\r\n\r\n")
    for line in head.split(b"\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-type":
            media = value.split(b";", 1)[0].strip().decode("utf-8", "replace")
            return media or None
    return None


def describe(payload: bytes) -> str:
    """A short description: content type (or ``xml``/``text``/``binary``) and size.

    ``text/plain, 12 bytes``; ``application/x-msnmsgrp2p, 1250 bytes, binary`` (a typed
    payload that is not text); ``binary, 8 bytes``; ``xml, 86 bytes``.
    """
    media = content_type(payload)
    text = is_text(payload)
    size = len(payload)
    sized = f"{size} byte{'' if size == 1 else 's'}"
    if media is not None:
        return f"{media}, {sized}" if text else f"{media}, {sized}, binary"
    if not text:
        return f"binary, {sized}"
    return f"{'xml' if payload.lstrip().startswith(b'<') else 'text'}, {sized}"


def hexdump(data: bytes, width: int = 16) -> list[str]:
    """``data`` as hex/ASCII dump lines: offset, hex bytes, printable characters."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<{width * 3 - 1}}  |{text}|")
    return lines


def payload_lines(payload: bytes) -> list[str]:
    """The payload for printing: its text lines, or a hex dump when it is not text."""
    if not is_text(payload):
        return hexdump(payload)
    text = payload.decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def escape(data: bytes) -> str:
    """``data`` with line ends and other control or non-UTF-8 bytes escaped (``\\r\\n``)."""
    out = []
    for ch in data.decode("utf-8", "backslashreplace"):
        if ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


RAW_PREVIEW = 60
"""How many bytes of data that is not MSNP a line shows (escaped)."""


def raw_preview(data: bytes) -> str:
    """The first ``RAW_PREVIEW`` bytes of ``data``, escaped, ``...`` when there is more."""
    return escape(data[:RAW_PREVIEW]) + ("..." if len(data) > RAW_PREVIEW else "")
