"""msproxy/inspect/show: one readable line per capture record (plus optional payload).

A line is: time since the capture started, connection name, a direction marker
(``->`` client to server, ``<-`` server to client, ``**`` open/close/rewrite, ``!!``
error or injected fault) and the command line, with a payload summary in brackets::

      0.153  NS#2  <- MSG Hotmail Hotmail 231  [text/x-msmsgsprofile, 231 bytes]

The layout and colours are ``msproxy.view.console``'s, which the live console shares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from msproxy.capture import Record, get_bytes, record_command
from msproxy.view.console import ARROWS, ERROR, META, layout
from msproxy.view.names import connection_name
from msproxy.view.payload import describe, escape, hexdump, payload_lines, raw_preview

from .model import Capture, error_text, fault_text


@dataclass(frozen=True, slots=True)
class ShowOptions:
    """How ``show`` prints: payload bodies, exact wire bytes, ANSI colour."""

    payload: bool = False
    raw: bool = False
    color: bool = False


class Names(Protocol):
    """What a line needs besides its record: connection names and the capture's start."""

    def relative(self, record: Record) -> float | None: ...

    def name(self, conn: object) -> str: ...


@dataclass(slots=True)
class StreamNames:
    """``Names`` learnt while reading: the header's start (else the first time seen) and
    each connection's name from its ``open`` record. Holds one name per connection."""

    started: float | None = None
    names: dict[int, str] = field(default_factory=dict)
    width: int = 4

    def see(self, record: Record) -> None:
        """Learn from ``record`` (call it for every record, the header first)."""
        kind = record.get("type")
        t = record.get("started" if kind == "header" else "t")
        if self.started is None and isinstance(t, int | float):
            self.started = float(t)
        conn = record.get("conn")
        if kind == "open" and isinstance(conn, int) and conn not in self.names:
            role = record.get("role")
            name = connection_name(role if isinstance(role, str) else None, conn)
            self.names[conn] = name
            self.width = max(self.width, len(name))

    def relative(self, record: Record) -> float | None:
        t = record.get("t")
        if not isinstance(t, int | float) or self.started is None:
            return None
        return float(t) - self.started

    def name(self, conn: object) -> str:
        if isinstance(conn, int) and conn in self.names:
            return self.names[conn]
        return f"#{conn}"


def stream_lines(
    records: Iterable[Record],
    keep: Callable[[Record], bool] = lambda record: True,
    options: ShowOptions = ShowOptions(),
    names: StreamNames | None = None,
) -> Iterator[str]:
    """The printed lines of every record that ``keep`` accepts, as the records come
    (the header first; nothing is kept but the connections' names)."""
    names = names if names is not None else StreamNames()
    for record in records:
        names.see(record)
        if record.get("type") != "header" and keep(record):
            yield from render_record(names, record, options, names.width)


def show_lines(
    capture: Capture,
    keep: Callable[[Record], bool] = lambda record: True,
    options: ShowOptions = ShowOptions(),
) -> Iterator[str]:
    """The printed lines of every record of ``capture`` that ``keep`` accepts."""
    width = max([4, *(len(c.name) for c in capture.connections.values())])
    for record in capture.records:
        if keep(record):
            yield from render_record(capture, record, options, width)


def render_record(
    capture: Names, record: Record, options: ShowOptions = ShowOptions(), width: int = 4
) -> list[str]:
    """The printed lines of one record: a summary line, then any payload/dump lines."""
    name = capture.name(record.get("conn"))
    marker, text, extra, tone = _describe(capture, record, options)
    return layout(
        capture.relative(record),
        name,
        f"{marker} {text}",
        extra,
        width=width,
        tone=tone,
        color=options.color,
    )


def _describe(
    capture: Names, record: Record, options: ShowOptions
) -> tuple[str, str, list[str], str]:
    """(marker, text, extra lines, colour key) of one record."""
    kind = record.get("type")
    direction = record.get("dir")
    if kind == "cmd":
        command = record_command(record)
        payload = command.payload
        if options.raw:
            raw = command.to_bytes()
            line = raw if payload is None else raw[: len(raw) - len(payload)]
            text = escape(line)
        else:
            text = command.line
        if payload is not None:
            text += f"  [{describe(payload)}]"
        if record.get("redacted"):
            text += "  [redacted]"
        extra = payload_lines(payload) if options.payload and payload is not None else []
        tone = "num" if command.is_error else str(direction)
        return ARROWS.get(str(direction), "??"), text, extra, tone
    if kind == "raw":
        data = get_bytes(record, "data") or b""
        reason = str(record.get("reason", "?"))
        if record.get("forwarded") is False:
            reason += ", not forwarded"
        text = f"raw {len(data)} bytes ({reason}): {raw_preview(data)}"
        extra = hexdump(data) if options.raw or options.payload else []
        return ARROWS.get(str(direction), "??"), text, extra, ERROR
    if kind == "open":
        fields = [f"open {record.get('role') or '?'}"]
        fields += [
            f"{key}={record[key]}" for key in ("client", "upstream") if record.get(key) is not None
        ]
        if record.get("parent") is not None:
            fields.append(f"parent={capture.name(record['parent'])}")
        if record.get("via") is not None:
            fields.append(f"via={record['via']}")
        return META, " ".join(fields), [], META
    if kind == "close":
        text = f"close by {record.get('by', '?')}"
        if record.get("reason"):
            text += f": {record['reason']}"
        return META, text, [], META
    if kind == "rewrite":
        text = f"rewrite {record.get('cmd')} {record.get('original')} => {record.get('new')}"
        return META, text, [], META
    if kind == "error":
        where = f" ({direction})" if direction else ""
        text = f"error {record.get('kind', '?')}{where}: {error_text(record)}"
        return ERROR, text, [], ERROR
    if kind == "fault":
        return ERROR, fault_text(record), [], ERROR
    return META, f"{kind} record", [], META  # pragma: no cover - the reader checks types
