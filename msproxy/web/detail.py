"""msproxy/web/detail: what the detail pane shows of a record: its line, its payload
(MIME headers and text, XML indented, binary as hex), its exact bytes, the record itself.
"""

from __future__ import annotations

import json
from xml.dom import minidom
from xml.parsers.expat import ExpatError

from msproxy.capture import CaptureFormatError, Record, rebuild, record_command
from msproxy.view.payload import escape, hexdump, is_text

MAX_SHOWN = 256 * 1024
"""Bytes of a payload or of exact bytes shown at most (the rest is cut, and said so)."""


def record_detail(record: Record, number: int) -> dict[str, object]:
    """The detail of one record (``number``: its index in the capture's records)."""
    result: dict[str, object] = {
        "index": number,
        "type": record.get("type"),
        "record": json.dumps(record, ensure_ascii=False, indent=1),
    }
    try:
        data = rebuild(record)
    except CaptureFormatError as exc:
        result["problem"] = str(exc)
        return result
    if record.get("type") == "cmd":
        command = record_command(record)
        payload = command.payload
        line = data if payload is None else data[: len(data) - len(payload)]
        result["line"] = escape(line)
        if payload is not None:
            result["payload"] = payload_view(payload)
    if data:
        result["bytes"] = escape(data[:MAX_SHOWN])
        result["hex"] = "\n".join(hexdump(data[:MAX_SHOWN]))
        result["size"] = len(data)
    return result


def payload_view(payload: bytes) -> dict[str, object]:
    """A payload as the page shows it: ``headers`` (name, value) and ``body`` of a MIME
    payload, ``kind`` of its body (``text``, ``xml``: indented, ``hex``: a dump)."""
    shown = payload[:MAX_SHOWN]
    headers: list[list[str]] = []
    body = shown
    head, sep, rest = shown.partition(b"\r\n\r\n")
    if sep and is_text(head) and _looks_like_headers(head):
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers.append([name.strip(), value.strip()])
        body = rest
    view: dict[str, object] = {"headers": headers, "size": len(payload)}
    view["cut"] = len(payload) > MAX_SHOWN
    if not is_text(body):
        view["kind"], view["body"] = "hex", "\n".join(hexdump(body))
    elif body.lstrip().startswith(b"<"):
        view["kind"], view["body"] = "xml", indent_xml(body.decode("utf-8"))
    else:
        view["kind"], view["body"] = "text", body.decode("utf-8")
    return view


def _looks_like_headers(head: bytes) -> bool:
    lines = head.split(b"\r\n")
    return all(b":" in line and not line.startswith((b" ", b"<")) for line in lines if line)


def indent_xml(text: str) -> str:
    """``text`` indented when it is well-formed XML, else as it is."""
    try:
        pretty = minidom.parseString(text).toprettyxml(indent="  ")
    except (ExpatError, ValueError):
        return text
    lines = [line for line in pretty.splitlines() if line.strip()]
    if lines and lines[0].startswith("<?xml") and not text.lstrip().startswith("<?xml"):
        lines.pop(0)
    return "\n".join(lines)
