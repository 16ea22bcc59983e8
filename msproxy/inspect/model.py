"""msproxy/inspect/model: a capture read into memory, with its connections named.

Connections are named by role and connection id, as the proxy's live console names them:
``DS#1``, ``NS#2``, ``SB#5`` (so ``msproxy show --conn 5`` is ``SB#5``). A connection
without a role (or seen without an ``open`` record) is ``#<conn>``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from msproxy.capture import CaptureFormatError, Record, read_capture
from msproxy.capture.format import check_header
from msproxy.view.names import connection_name


@dataclass(slots=True)
class CaptureConnection:
    """One proxied connection, as told by its ``open`` and ``close`` records."""

    conn: int
    name: str
    role: str | None = None
    client: str | None = None
    upstream: str | None = None
    parent: int | None = None
    via: str | None = None
    opened: float | None = None
    closed: float | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    last_seen: float | None = None


@dataclass(slots=True)
class Capture:
    """A whole capture in memory: header, the other records in order, the connections."""

    header: Record
    records: list[Record]
    connections: dict[int, CaptureConnection]
    source: str = "<records>"

    @property
    def started(self) -> float:
        """The time relative times count from: the header's ``started``, else the first ``t``."""
        started = self.header.get("started")
        if isinstance(started, int | float):
            return float(started)
        for record in self.records:
            t = record.get("t")
            if isinstance(t, int | float):
                return float(t)
        return 0.0

    def relative(self, record: Record) -> float | None:
        """Seconds from the start of the capture to ``record`` (None without a ``t``)."""
        t = record.get("t")
        if not isinstance(t, int | float):
            return None
        return float(t) - self.started

    def name(self, conn: object) -> str:
        """The display name of connection ``conn`` (``NS#2``, ``SB#5``, ...)."""
        if isinstance(conn, int) and conn in self.connections:
            return self.connections[conn].name
        return f"#{conn}"

    def commands(self, conn: int | None = None) -> Iterator[Record]:
        """The ``cmd`` records, of one connection or of all."""
        for record in self.records:
            if record.get("type") == "cmd" and (conn is None or record.get("conn") == conn):
                yield record

    def by_role(self) -> dict[str | None, list[CaptureConnection]]:
        """The connections grouped by role, each group in the order they were opened."""
        groups: dict[str | None, list[CaptureConnection]] = {}
        for connection in self.connections.values():
            groups.setdefault(connection.role, []).append(connection)
        return groups

    def append(self, record: Record, number: int | None = None) -> None:
        """Add the next record (line ``number`` of the file, for errors), updating the
        connections: what ``make_capture`` does for each record, and a follower for
        each record written since.

        Raises:
            CaptureFormatError: a record without an integer ``conn``, or a ``t`` too
                large for a float.
        """
        number = len(self.records) + 2 if number is None else number
        ConnectionBook(self.source, self.connections).see(record, number)
        self.records.append(record)


def load_capture(path: str | os.PathLike[str]) -> Capture:
    """Read the capture at ``path`` into memory.

    Raises:
        OSError: the file cannot be read.
        CaptureFormatError: it is not a capture this reader understands.
    """
    return make_capture(read_capture(path), source=os.fspath(path))


def make_capture(records: Iterable[Record], *, source: str = "<records>") -> Capture:
    """A ``Capture`` from records, the header first (as ``read_capture`` yields them).

    Raises:
        CaptureFormatError: no header, a record without an integer ``conn``, or a time
            (``t``, the header's ``started``) too large for a float.
    """
    iterator = iter(records)
    header = next(iterator, None)
    if header is None:
        raise CaptureFormatError(f"{source}: empty capture (no header)")
    check_header(header)
    _check_time(header, "started", f"{source}: the header")
    capture = Capture(header, [], {}, source)
    for number, record in enumerate(iterator, start=2):
        capture.append(record, number)
    return capture


@dataclass(slots=True)
class ConnectionBook:
    """The connections of a capture as its records go by (one entry per connection, never
    the records): what ``make_capture`` and the streaming tools know of them."""

    source: str = "<records>"
    connections: dict[int, CaptureConnection] = field(default_factory=dict)

    def see(self, record: Record, number: int) -> None:
        """Learn from ``record`` (line ``number`` of the capture, for errors).

        Raises:
            CaptureFormatError: a record without an integer ``conn``, or a time too
                large for a float.
        """
        source = self.source
        conn = record.get("conn")
        if not isinstance(conn, int) or isinstance(conn, bool):
            raise CaptureFormatError(
                f"{source}: record {number} ({record.get('type')!r}) has no integer 'conn'"
            )
        _check_time(record, "t", f"{source}: record {number} ({record.get('type')!r})")
        connections = self.connections
        t = record.get("t")
        known = connections.get(conn)
        if record.get("type") == "open" and known is None:
            role = record.get("role")
            role = role if isinstance(role, str) else None
            known = connections[conn] = CaptureConnection(
                conn,
                connection_name(role, conn),
                role=role,
                client=_str_or_none(record.get("client")),
                upstream=_str_or_none(record.get("upstream")),
                parent=record.get("parent") if isinstance(record.get("parent"), int) else None,
                via=_str_or_none(record.get("via")),
                opened=float(t) if isinstance(t, int | float) else None,
            )
        elif known is None:
            known = connections[conn] = CaptureConnection(conn, f"#{conn}")
        if isinstance(t, int | float):
            known.last_seen = float(t)
        if record.get("type") == "close":
            known.closed = float(t) if isinstance(t, int | float) else None
            by = _str_or_none(record.get("by"))
            # Captures from before the format was fixed said "upstream" for the server.
            known.closed_by = "server" if by == "upstream" else by
            known.close_reason = _str_or_none(record.get("reason"))


def _check_time(record: Record, key: str, where: str) -> None:
    """A time field, when a number, must be one a float can hold (JSON integers can be
    any size): every later ``float(t)`` is then safe."""
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            raise CaptureFormatError(f"{where} has a {key!r} out of range") from None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def error_text(record: Record) -> str:
    """The text of an ``error`` record: its ``message``.

    (Captures written before the format was fixed had it in ``reason``: still read.)
    """
    for key in ("message", "reason"):
        value = record.get(key)
        if isinstance(value, str):
            return value
    return ""


def fault_text(record: Record) -> str:
    """What a ``fault`` record says: ``fault drop NLN (s2c) at byte 15, rule 2``."""
    detail = "".join(
        f" {key}={record[key]:g}"
        for key in ("ms", "bytes", "after")
        if isinstance(record.get(key), int | float)
    )
    where = f" ({record['dir']})" if record.get("dir") else ""
    return (
        f"fault {record.get('action', '?')}{detail} {record.get('cmd') or 'bytes'}{where}"
        f" at byte {record.get('offset', '?')}, rule {record.get('rule', '?')}"
    )
