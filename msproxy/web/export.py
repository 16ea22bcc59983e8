"""msproxy/web/export: a session's ladder as Mermaid text or SVG, its records as JSONL.

The JSONL slice is a capture of its own (the capture's header, then the session's
records), which every msproxy tool reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.sax.saxutils import escape as xml_escape

from msproxy.capture import encode_record
from msproxy.inspect.model import Capture

from .model import LadderView, WebSession, columns, row_json

_MERMAID_CODES = {"#": "#35;", ";": "#59;", "\r": " ", "\n": " "}
_MERMAID_UNSAFE = re.compile("[#;\r\n]")
SVG_ROWS = 5000
"""Rows drawn at most in an SVG export (a longer one ends with a note saying so)."""
COLUMN_WIDTH = 220
ROW_HEIGHT = 26
TOP = 48


def mermaid(capture: Capture, session: WebSession, view: LadderView) -> str:
    """The ladder as a Mermaid ``sequenceDiagram``."""
    heads = columns(capture, session)
    lines = ["sequenceDiagram"]
    for number, column in enumerate(heads):
        # a participant's label takes no entity codes: SB#5 is written "SB 5"
        name = column["name"].replace("#", " ").strip()
        label = " ".join(part for part in (name, column["address"]) if part)
        lines.append(f"    participant P{number} as {_mermaid_text(label)}")
    for number in range(len(view.rows)):
        row = row_json(capture, session, view, number)
        text = _mermaid_text(str(row["text"]))
        if "rewrite" in row:
            text += _mermaid_text(f" (rewritten {row['rewrite']})")
        if row["dir"] is None:
            lines.append(f"    Note over P{row['from']}: {text}")
        else:
            arrow = "-x" if row["error"] else "->>" if row["dir"] == "c2s" else "-->>"
            lines.append(f"    P{row['from']}{arrow}P{row['to']}: {text}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Text safe in a Mermaid message: ``#`` and ``;`` (and line ends) as entity codes."""
    return _MERMAID_UNSAFE.sub(lambda m: _MERMAID_CODES[m.group()], text)


def svg(capture: Capture, session: WebSession, view: LadderView) -> str:
    """The ladder as a standalone SVG picture (at most ``SVG_ROWS`` rows)."""
    heads = columns(capture, session)
    shown = min(len(view.rows), SVG_ROWS)
    width = COLUMN_WIDTH * len(heads)
    height = TOP + ROW_HEIGHT * (shown + 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for number, column in enumerate(heads):
        x = _x(number)
        parts.append(
            f'<text x="{x}" y="16" text-anchor="middle" font-weight="bold">'
            f"{xml_escape(column['name'])}</text>"
            f'<text x="{x}" y="32" text-anchor="middle" fill="#555">'
            f"{xml_escape(column['address'])}</text>"
            f'<line x1="{x}" y1="{TOP - 8}" x2="{x}" y2="{height}" stroke="#bbb"/>'
        )
    parts.extend(_svg_row(row_json(capture, session, view, n), n) for n in range(shown))
    if shown < len(view.rows):
        parts.append(
            f'<text x="8" y="{TOP + ROW_HEIGHT * shown + 16}">'
            f"... {len(view.rows) - shown} more rows not drawn</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _x(column: object) -> int:
    return COLUMN_WIDTH // 2 + COLUMN_WIDTH * int(str(column))


def _svg_row(row: dict[str, object], number: int) -> str:
    y = TOP + ROW_HEIGHT * number + 18
    colour = "#c00" if row["error"] else "#000"
    text = str(row["text"])
    if "rewrite" in row:
        text += f"  \u21aa {row['rewrite']}"
    x1, x2 = _x(row["from"]), _x(row["to"])
    label = xml_escape(text)
    if row["dir"] is None:
        return f'<text x="{x1 + 6}" y="{y}" fill="{colour}" font-style="italic">{label}</text>'
    return (
        f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{colour}" marker-end="url(#a)"/>'
        f'<text x="{min(x1, x2) + 6}" y="{y - 4}" fill="{colour}">{label}</text>'
    )


def jsonl(capture: Capture, session: WebSession) -> Iterator[bytes]:
    """The session's records as a capture: the header, then its records in file order."""
    yield encode_record(capture.header)
    wanted = set(session.conns)
    for record in capture.records:
        if record.get("conn") in wanted:
            yield encode_record(record)
