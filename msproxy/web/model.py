"""msproxy/web/model: a capture's client sessions and their ladders, as the page shows them.

A *session* is one client's first connection (a dispatch or notification server: no
``parent`` in its ``open`` record) with every connection it led to (``parent``, as
``msproxy summary`` lists it): the notification server a ``XFR NS`` sent it to, each
switchboard. Its *ladder* has one column for the client and one per connection, and one
row per record of those connections in file order: an arrow per command, a note per
``open``, ``close``, ``error`` or ``raw`` record. A ``rewrite`` record annotates the
redirect before it. Runs of presence commands (``PRESENCE_VERBS``) fold into one row
unless opened. Rows are built as records arrive (``LadderView.extend``), so a live
session costs its new records, and the page asks only for the rows it shows.

Sans-IO: the store and the web app feed records in and read rows out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from msproxy.capture import CaptureFormatError, Record, get_bytes
from msproxy.inspect.model import Capture, error_text
from msproxy.view.payload import content_type, describe, is_text

PRESENCE_VERBS = frozenset({"NLN", "FLN", "ILN", "CHG", "PNG", "QNG"})
"""Presence noise: runs of these fold into one row of the ladder."""
LADDER_TYPES = frozenset({"cmd", "rewrite", "error", "fault", "open", "close", "raw"})
"""The record types that make rows."""
CLIENT_COLUMN = 0
"""The client's column; connection ``i`` of a session (in order of opening) is ``i + 1``."""

Keep = Callable[[Record], bool]


@dataclass(slots=True)
class WebSession:
    """One client session of a capture: its first connection and every one it led to."""

    key: str
    root: int
    conns: list[int] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    handle: str | None = None
    version: str | None = None
    commands: int = 0
    errors: int = 0
    first: float | None = None
    last: float | None = None


def is_error(record: Record) -> bool:
    """True for an ``error`` or ``fault`` record and for a numeric reply (``911 7``)."""
    kind = record.get("type")
    if kind in ("error", "fault"):
        return True
    verb = record.get("cmd")
    return kind == "cmd" and isinstance(verb, str) and verb.isdigit()


class SessionIndex:
    """The sessions of one capture, brought up to date with ``update`` as it grows."""

    def __init__(self, capture: Capture, prefix: str) -> None:
        self.capture = capture
        self.prefix = prefix
        self.sessions: dict[str, WebSession] = {}
        self._root_of: dict[int, int] = {}
        self._done = 0

    def update(self) -> set[str]:
        """Take in the records appended since the last call; the keys of the sessions
        they changed."""
        changed: set[str] = set()
        records = self.capture.records
        for index in range(self._done, len(records)):
            session = self._session_of(records[index])
            self._take(session, index, records[index])
            changed.add(session.key)
        self._done = len(records)
        return changed

    def _session_of(self, record: Record) -> WebSession:
        conn: int = record["conn"]
        root = self._root_of.get(conn)
        if root is None:
            parent = record.get("parent") if record.get("type") == "open" else None
            root = self._root_of.get(parent, parent) if isinstance(parent, int) else conn
            self._root_of[conn] = root
        key = f"{self.prefix}{root}"
        session = self.sessions.get(key)
        if session is None:
            session = self.sessions[key] = WebSession(key, root)
        if conn not in session.conns:
            session.conns.append(conn)
        return session

    @staticmethod
    def _take(session: WebSession, index: int, record: Record) -> None:
        kind = record.get("type")
        if kind not in LADDER_TYPES:
            return
        session.items.append(index)
        t = record.get("t")
        if isinstance(t, int | float):
            session.first = float(t) if session.first is None else session.first
            session.last = float(t)
        if is_error(record):
            session.errors += 1
        if kind != "cmd":
            return
        session.commands += 1
        verb, args = record.get("cmd"), record.get("args") or []
        if verb == "VER" and record.get("dir") == "s2c" and session.version is None and args:
            session.version = str(args[0])
        elif verb == "USR" and session.handle is None and len(args) >= 3:
            if record.get("dir") == "c2s" and str(args[1]).upper() == "I":
                session.handle = str(args[2])
            elif record.get("dir") == "s2c" and args[0] == "OK":
                session.handle = str(args[1])


@dataclass(slots=True)
class Row:
    """One row of a ladder: a record, or a folded run of presence commands."""

    first: int
    last: int
    kind: str
    count: int = 1
    run: int | None = None  # an opened fold's rows: the first record of the run
    rewrite: int | None = None
    pair: int | None = None
    members: list[int] | None = None  # a fold's records

    def indices(self) -> list[int]:
        """The records of the row: a fold's members, or its one record."""
        return self.members if self.members is not None else [self.first]


class LadderView:
    """A session's rows under one filter with some folds opened, extended as it grows.

    ``keep`` is the filter (None: every record); ``opened`` holds the first record index
    of each presence run shown unfolded.
    """

    def __init__(self, keep: Keep | None = None, opened: frozenset[int] = frozenset()) -> None:
        self.keep = keep
        self.opened = opened
        self.rows: list[Row] = []
        self._done = 0
        self._run: int | None = None  # the presence run going on: its first record
        self._requests: dict[tuple[int, int], int] = {}

    def extend(self, records: Sequence[Record], items: Sequence[int]) -> None:
        """Take in the session's items (record indices) added since the last call."""
        for index in items[self._done :]:
            record = records[index]
            if self.keep is None or self.keep(record):
                self._add(index, record, records)
        self._done = len(items)

    def _add(self, index: int, record: Record, records: Sequence[Record]) -> None:
        kind: str = record["type"]
        rows = self.rows
        if kind == "cmd" and record.get("cmd") in PRESENCE_VERBS:
            self._add_presence(index)
            return
        self._run = None
        if kind == "rewrite" and rows and rows[-1].kind == "cmd" and rows[-1].rewrite is None:
            redirect = records[rows[-1].first]  # the redirect just before it, if shown
            if (redirect["conn"], redirect.get("cmd")) == (record["conn"], record.get("cmd")):
                rows[-1].rewrite = index
                return
        rows.append(Row(index, index, kind))
        if kind == "cmd":
            self._link(record, len(rows) - 1)

    def _add_presence(self, index: int) -> None:
        rows = self.rows
        if self._run is None:
            self._run = index
        elif self._run not in self.opened:
            last = rows[-1]
            last.kind, last.last, last.count = "fold", index, last.count + 1
            if last.members is None:
                last.members = [last.first]
            last.members.append(index)
            return
        run = self._run if self._run in self.opened else None
        rows.append(Row(index, index, "cmd", run=run))

    def _link(self, record: Record, row: int) -> None:
        trid = record.get("trid")
        if not isinstance(trid, int):
            return
        key = (record["conn"], trid)
        if record.get("dir") == "c2s":
            self._requests[key] = row
        else:
            request = self._requests.pop(key, None)
            if request is not None:
                self.rows[request].pair = row
                self.rows[row].pair = request


def columns(capture: Capture, session: WebSession) -> list[dict[str, str]]:
    """The ladder's columns: the client, then each connection with its server's address."""
    root = capture.connections.get(session.root)
    client = root.client if root is not None and root.client else ""
    result = [{"name": "client", "address": client}]
    for conn in session.conns:
        known = capture.connections.get(conn)
        name = known.name if known is not None else f"#{conn}"
        address = known.upstream if known is not None and known.upstream else ""
        result.append({"name": name, "address": address})
    return result


def short(text: str, limit: int = 72) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def row_label(records: Sequence[Record], row: Row) -> str:
    """The text on a row's arrow or note."""
    record = records[row.first]
    kind = row.kind
    if kind == "fold":
        counts: dict[str, int] = {}
        for index in row.indices():
            verb = str(records[index].get("cmd"))
            counts[verb] = counts.get(verb, 0) + 1
        parts = ", ".join(f"{verb} \u00d7{n}" for verb, n in counts.items())
        return f"{row.count} presence commands ({parts})"
    if kind == "cmd":
        return command_label(record)
    if kind == "rewrite":
        return f"rewrite {record.get('cmd')} {record.get('original')} -> {record.get('new')}"
    if kind == "error":
        return short(f"error {record.get('kind', '')}: {error_text(record)}")
    if kind == "fault":
        what = record.get("cmd") or f"{record.get('size')} bytes"
        return short(
            f"fault {record.get('action')} {record.get('dir')} {what} (rule {record.get('rule')})"
        )
    if kind == "open":
        return short(f"open {record.get('role') or ''} from {record.get('client') or '?'}")
    if kind == "close":
        reason = record.get("reason")
        return f"close by {record.get('by')}" + (f": {reason}" if reason else "")
    return short(f"{kind} {record.get('data', '')!s}")


def command_label(record: Record) -> str:
    """Verb, TrID and a short summary of the arguments (and the payload's size)."""
    parts = [str(record.get("cmd"))]
    if record.get("trid") is not None:
        parts.append(str(record.get("trid")))
    parts.append(" ".join(str(arg) for arg in record.get("args") or []))
    label = short(" ".join(part for part in parts if part))
    try:
        payload = get_bytes(record, "payload")
    except CaptureFormatError:
        return label + "  [malformed payload]"
    if payload is None:
        return label
    _, _, body = payload.partition(b"\r\n\r\n")
    if content_type(payload) == "text/plain" and is_text(body):
        return f"{label}  \u00ab{short(body.decode('utf-8'), 48)}\u00bb"
    return f"{label}  [{describe(payload)}]"


def row_json(
    capture: Capture, session: WebSession, view: LadderView, number: int
) -> dict[str, object]:
    """Row ``number`` of a view as the page draws it."""
    row = view.rows[number]
    records = capture.records
    record = records[row.first]
    conn = record["conn"]
    column = session.conns.index(conn) + 1 if conn in session.conns else CLIENT_COLUMN
    direction = record.get("dir") if row.kind in ("cmd", "fold") else None
    if row.kind == "fold" and any(records[i].get("dir") != direction for i in row.indices()):
        direction = "both"
    source, target = (CLIENT_COLUMN, column) if direction == "c2s" else (column, CLIENT_COLUMN)
    if direction is None:
        source = target = column
    result: dict[str, object] = {
        "n": number,
        "kind": row.kind,
        "from": source,
        "to": target,
        "dir": direction,
        "verb": record.get("cmd"),
        "trid": record.get("trid"),
        "text": row_label(records, row),
        "error": is_error(record),
        "pair": row.pair,
        "count": row.count,
        "first": row.first,
        "run": row.run,
        "t": capture.relative(record),
    }
    if row.rewrite is not None:
        rewrite = records[row.rewrite]
        result["rewrite"] = f"{rewrite.get('original')} -> {rewrite.get('new')}"
    return result


def session_json(capture: Capture, session: WebSession) -> dict[str, object]:
    """A session's line in the sessions list."""
    duration = (
        session.last - session.first
        if session.first is not None and session.last is not None
        else None
    )
    return {
        "key": session.key,
        "source": capture.source,
        "name": capture.name(session.root),
        "handle": session.handle,
        "version": session.version,
        "start": capture.relative({"t": session.first}) if session.first is not None else None,
        "duration": duration,
        "connections": len(session.conns),
        "commands": session.commands,
        "errors": session.errors,
        "open": any(
            conn in capture.connections and capture.connections[conn].closed is None
            for conn in session.conns
        ),
    }
