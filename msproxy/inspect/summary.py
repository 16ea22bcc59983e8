"""msproxy/inspect/summary: tables about a capture (connections, verbs, latency, errors).

Each table is computed as plain rows (``Table``) so tests and scripts can use the
numbers; ``format_tables`` renders them with tabulate. Output is deterministic: rows
are in capture order (connections, errors) or sorted by verb.

TrID round-trip latency: a client-to-server command with a TrID starts a request on its
connection; the first server-to-client command on the same connection with the same TrID
ends it. Requests are grouped by the request's verb.
"""

from __future__ import annotations

import json
import math
import statistics
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from tabulate import tabulate, tabulate_formats

from msproxy.capture import Record, rebuild, record_command

from .model import Capture, ConnectionBook, error_text, fault_text

_V = TypeVar("_V")


@dataclass(slots=True)
class Table:
    """One summary table: a title, column headers and rows of cells."""

    title: str
    headers: list[str]
    rows: list[list[object]] = field(default_factory=list)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ms(value: float) -> str:
    return f"{value * 1000:.1f}"


CONNECTION_HEADERS = [
    "conn",
    "name",
    "role",
    "client",
    "upstream",
    "parent",
    "via",
    "cmds c2s",
    "cmds s2c",
    "bytes c2s",
    "bytes s2c",
    "duration s",
    "closed by",
]
MAX_OPEN_REQUESTS = 65_536
"""Requests awaiting their reply that the summary remembers (the oldest is forgotten
first): requests that never get one (``MSG N``) must not fill the memory."""


@dataclass(slots=True)
class Summary:
    """The numbers of every table, gathered one record at a time (``add``), in memory
    that grows with the connections, verbs, round trips and errors, not the records."""

    book: ConnectionBook = field(default_factory=ConnectionBook)
    started: float | None = None
    selected_conns: set[int] | None = None
    counts: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    verbs: dict[str, list[int]] = field(default_factory=dict)
    pending: OrderedDict[tuple[int, int], tuple[str, float | None]] = field(
        default_factory=OrderedDict
    )
    samples: dict[str, array[float]] = field(default_factory=dict)
    requests: OrderedDict[tuple[int, int], str] = field(default_factory=OrderedDict)
    errors: list[list[object]] = field(default_factory=list)
    number: int = 0

    def add(self, record: Record, selected: bool = True) -> None:
        """Take ``record`` (the header first) into the connections' names and, when
        ``selected``, into the tables.

        Raises:
            CaptureFormatError: a record without an integer ``conn``, a time too large.
        """
        self.number += 1
        if record.get("type") == "header":
            started = record.get("started")
            if isinstance(started, int | float):
                self.started = float(started)
            return
        self.book.see(record, self.number)
        t = record.get("t")
        if self.started is None and isinstance(t, int | float):
            self.started = float(t)
        if not selected:
            return
        if self.selected_conns is not None:
            self.selected_conns.add(record["conn"])
        kind = record.get("type")
        if kind in ("cmd", "raw"):
            cell = self.counts.setdefault((record["conn"], str(record.get("dir"))), [0, 0])
            cell[1] += len(rebuild(record))
            if kind == "cmd":
                cell[0] += 1
                self._command(record)
        elif kind == "error":
            self.errors.append(
                [
                    _seconds(self.relative(record)),
                    self.name(record["conn"]),
                    record.get("dir") or "-",
                    f"{record.get('kind', '?')}",
                    "-",
                    error_text(record),
                ]
            )
        elif kind == "fault":
            self.errors.append(
                [
                    _seconds(self.relative(record)),
                    self.name(record["conn"]),
                    record.get("dir") or "-",
                    f"fault {record.get('action', '?')}",
                    "-",
                    fault_text(record),
                ]
            )

    def _command(self, record: Record) -> None:
        command = record_command(record)
        c2s = record.get("dir") == "c2s"
        cell = self.verbs.setdefault(command.verb, [0, 0, 0, 0])
        column = 0 if c2s else 1
        cell[column] += 1
        if command.payload is not None:
            cell[column + 2] += len(command.payload)
        trid = record.get("trid")
        if not isinstance(trid, int):
            return
        key = (record["conn"], trid)
        t = record.get("t")
        t = float(t) if isinstance(t, int | float) else None
        if c2s:
            if key not in self.pending:
                _bounded_put(self.pending, key, (command.verb, t))
            _bounded_put(self.requests, key, command.verb)
            return
        request = self.pending.pop(key, None)
        if request is not None and request[1] is not None and t is not None:
            self.samples.setdefault(request[0], array("d")).append(t - request[1])
        answered = self.requests.get(key)
        if command.is_error:
            detail = f"reply to {answered}" if answered else "no matching request"
            if command.args:
                detail += f" (args: {' '.join(command.args)})"
            row = [_seconds(self.relative(record)), self.name(record["conn"]), record.get("dir")]
            self.errors.append([*row, command.verb, trid, detail])

    def relative(self, record: Record) -> float | None:
        t = record.get("t")
        if not isinstance(t, int | float):
            return None
        return float(t) - (self.started or 0.0)

    def name(self, conn: object) -> str:
        known = self.book.connections.get(conn) if isinstance(conn, int) else None
        return known.name if known is not None else f"#{conn}"

    def connection_table(self) -> Table:
        """Per connection: role, addresses, parent, command and byte counts, duration,
        close (with a filter: the connections it selected something of)."""
        table = Table("Connections", list(CONNECTION_HEADERS))
        for conn in self.book.connections.values():
            if self.selected_conns is not None and conn.conn not in self.selected_conns:
                continue
            c2s = self.counts.get((conn.conn, "c2s"), [0, 0])
            s2c = self.counts.get((conn.conn, "s2c"), [0, 0])
            end = conn.closed if conn.closed is not None else conn.last_seen
            duration = end - conn.opened if end is not None and conn.opened is not None else None
            if conn.closed_by is None:
                closed = "(open)"
            else:
                closed = conn.closed_by + (f": {conn.close_reason}" if conn.close_reason else "")
            parent = self.name(conn.parent) if conn.parent is not None else "-"
            table.rows.append(
                [
                    *(conn.conn, conn.name, conn.role or "-", conn.client or "-"),
                    *(conn.upstream or "-", parent, conn.via or "-"),
                    *(c2s[0], s2c[0], c2s[1], s2c[1], _seconds(duration), closed),
                ]
            )
        return table

    def verb_table(self) -> Table:
        """Per verb: how many in each direction and their payload bytes, sorted by verb."""
        headers = ["verb", "c2s", "s2c", "payload bytes c2s", "payload bytes s2c"]
        table = Table("Commands", headers)
        table.rows = [[verb, *self.verbs[verb]] for verb in sorted(self.verbs)]
        return table

    def latency_table(self) -> Table:
        """TrID round-trip latency per request verb: count, median, p95 and max in ms."""
        table = Table("TrID round trips (ms)", ["verb", "count", "median", "p95", "max"])
        for verb in sorted(self.samples):
            values = list(self.samples[verb])
            table.rows.append(
                [
                    verb,
                    len(values),
                    _ms(statistics.median(values)),
                    _ms(percentile(values, 0.95)),
                    _ms(max(values)),
                ]
            )
        return table

    def error_table(self) -> Table:
        """Numeric error replies (with the verb they answer), error records and injected
        faults, in order.

        Columns: time, connection, direction, the error (the numeric code, an ``error``
        record's kind, or ``fault`` and its action), the TrID of a numeric reply (``-``
        when none), and the detail (the verb it answers and any further arguments, the
        ``error`` record's message, or what the fault did).
        """
        table = Table("Errors", ["time s", "conn", "dir", "error", "trid", "detail"])
        table.rows = list(self.errors)
        return table

    def tables(self) -> list[Table]:
        """All summary tables, in print order."""
        return [
            self.connection_table(),
            self.verb_table(),
            self.latency_table(),
            self.error_table(),
        ]


def _bounded_put(
    mapping: OrderedDict[tuple[int, int], _V], key: tuple[int, int], value: _V
) -> None:
    mapping[key] = value
    mapping.move_to_end(key)
    if len(mapping) > MAX_OPEN_REQUESTS:
        mapping.popitem(last=False)


def summarize_records(
    records: Iterable[Record], keep: Callable[[Record], bool] | None = None
) -> Summary:
    """The ``Summary`` of a capture's records (the header first), read once, of the
    records ``keep`` selects (every record is still shown to ``keep``, in order)."""
    summary = Summary(selected_conns=set() if keep is not None else None)
    for record in records:
        selected = keep(record) if keep is not None and record.get("type") != "header" else True
        summary.add(record, selected)
    return summary


def _of(capture: Capture) -> Summary:
    summary = Summary(book=ConnectionBook(capture.source), started=capture.started, number=1)
    for record in capture.records:
        summary.add(record)
    return summary


def connection_table(capture: Capture) -> Table:
    """Per connection: role, addresses, parent, command and byte counts, duration, close."""
    return _of(capture).connection_table()


def verb_table(capture: Capture) -> Table:
    """Per verb: how many in each direction and their payload bytes, sorted by verb."""
    return _of(capture).verb_table()


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in (0, 1])."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def round_trips(capture: Capture) -> list[tuple[Record, Record]]:
    """(request, first reply) pairs: a c2s command with a TrID and the first s2c command
    with the same TrID on the same connection after it."""
    pending: dict[tuple[int, int], Record] = {}
    pairs = []
    for record in capture.commands():
        trid = record.get("trid")
        if not isinstance(trid, int):
            continue
        key = (record["conn"], trid)
        if record.get("dir") == "c2s":
            pending.setdefault(key, record)
        elif key in pending:
            pairs.append((pending.pop(key), record))
    return pairs


def latency_table(capture: Capture) -> Table:
    """TrID round-trip latency per request verb: count, median, p95 and max in ms."""
    return _of(capture).latency_table()


def error_table(capture: Capture) -> Table:
    """Numeric error replies (with the verb they answer), error records and injected
    faults, in order."""
    return _of(capture).error_table()


def _is_number(cell: object) -> bool:
    if isinstance(cell, int | float):
        return True
    try:
        float(str(cell))
    except ValueError:
        return False
    return True


def _alignment(table: Table) -> tuple[str, ...]:
    """Right-align the columns whose cells are all numbers (or ``-``)."""
    return tuple(
        "right"
        if all(_is_number(row[i]) or row[i] == "-" for row in table.rows)
        and any(_is_number(row[i]) for row in table.rows)
        else "left"
        for i in range(len(table.headers))
    )


def summarize(capture: Capture) -> list[Table]:
    """All summary tables, in print order."""
    return _of(capture).tables()


def tables_json(tables: list[Table]) -> str:
    """The tables as one JSON object: each table's key (``connections``, ``commands``,
    ``round_trips``, ``errors``) to a list of rows, each row an object keyed by the
    column headers; numbers as numbers, ``-`` as null."""
    keys = {"Connections": "connections", "Commands": "commands", "Errors": "errors"}
    out = {
        keys.get(table.title, "round_trips"): [
            {header: _json_cell(cell) for header, cell in zip(table.headers, row, strict=True)}
            for row in table.rows
        ]
        for table in tables
    }
    return json.dumps(out, indent=1) + "\n"


def _json_cell(cell: object) -> object:
    if cell == "-":
        return None
    if isinstance(cell, str):
        try:
            return float(cell) if "." in cell else int(cell)
        except ValueError:
            return cell
    return cell


def check_format(tablefmt: str) -> str:
    """``tablefmt`` if tabulate knows it.

    Raises:
        ValueError: an unknown format (tabulate itself would quietly use another one);
            the message lists the valid ones.
    """
    if tablefmt not in tabulate_formats:
        raise ValueError(
            f"unknown table format {tablefmt!r}; one of: {', '.join(sorted(tabulate_formats))}"
        )
    return tablefmt


def format_tables(tables: list[Table], tablefmt: str = "simple") -> str:
    """The tables as text, each under its title; an empty table says ``(none)``.

    Raises:
        ValueError: ``tablefmt`` is not a tabulate format (``check_format``).
    """
    check_format(tablefmt)
    parts = []
    for table in tables:
        body = (
            tabulate(
                table.rows,
                headers=table.headers,
                tablefmt=tablefmt,
                disable_numparse=True,
                colalign=_alignment(table),
            )
            if table.rows
            else "(none)"
        )
        parts.append(f"{table.title}\n{body}")
    return "\n\n".join(parts) + "\n"
