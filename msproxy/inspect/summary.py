"""msproxy/inspect/summary: tables about a capture (connections, verbs, latency, errors).

Each table is computed as plain rows (``Table``) so tests and scripts can use the
numbers; ``format_tables`` renders them with tabulate. Output is deterministic: rows
are in capture order (connections, errors) or sorted by verb.

TrID round-trip latency: a client-to-server command with a TrID starts a request on its
connection; the first server-to-client command on the same connection with the same TrID
ends it. Requests are grouped by the request's verb.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from tabulate import tabulate, tabulate_formats

from msproxy.capture import Record, rebuild, record_command

from .model import Capture, error_text, fault_text


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


def connection_table(capture: Capture) -> Table:
    """Per connection: role, addresses, parent, command and byte counts, duration, close."""
    counts: dict[tuple[int, str], list[int]] = {}
    for record in capture.records:
        if record.get("type") in ("cmd", "raw"):
            key = (record["conn"], str(record.get("dir")))
            cell = counts.setdefault(key, [0, 0])
            if record["type"] == "cmd":
                cell[0] += 1
            cell[1] += len(rebuild(record))
    table = Table(
        "Connections",
        [
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
        ],
    )
    for conn in capture.connections.values():
        c2s = counts.get((conn.conn, "c2s"), [0, 0])
        s2c = counts.get((conn.conn, "s2c"), [0, 0])
        end = conn.closed if conn.closed is not None else conn.last_seen
        duration = end - conn.opened if end is not None and conn.opened is not None else None
        if conn.closed_by is None:
            closed = "(open)"
        else:
            closed = conn.closed_by + (f": {conn.close_reason}" if conn.close_reason else "")
        table.rows.append(
            [
                conn.conn,
                conn.name,
                conn.role or "-",
                conn.client or "-",
                conn.upstream or "-",
                capture.name(conn.parent) if conn.parent is not None else "-",
                conn.via or "-",
                c2s[0],
                s2c[0],
                c2s[1],
                s2c[1],
                _seconds(duration),
                closed,
            ]
        )
    return table


def verb_table(capture: Capture) -> Table:
    """Per verb: how many in each direction and their payload bytes, sorted by verb."""
    stats: dict[str, list[int]] = {}
    for record in capture.commands():
        command = record_command(record)
        cell = stats.setdefault(command.verb, [0, 0, 0, 0])
        column = 0 if record.get("dir") == "c2s" else 1
        cell[column] += 1
        if command.payload is not None:
            cell[column + 2] += len(command.payload)
    table = Table("Commands", ["verb", "c2s", "s2c", "payload bytes c2s", "payload bytes s2c"])
    table.rows = [[verb, *stats[verb]] for verb in sorted(stats)]
    return table


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
    samples: dict[str, list[float]] = {}
    for request, reply in round_trips(capture):
        t0, t1 = request.get("t"), reply.get("t")
        if isinstance(t0, int | float) and isinstance(t1, int | float):
            samples.setdefault(str(request["cmd"]), []).append(float(t1) - float(t0))
    table = Table("TrID round trips (ms)", ["verb", "count", "median", "p95", "max"])
    for verb in sorted(samples):
        values = samples[verb]
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


def error_table(capture: Capture) -> Table:
    """Numeric error replies (with the verb they answer), error records and injected
    faults, in order.

    Columns: time, connection, direction, the error (the numeric code, an ``error``
    record's kind, or ``fault`` and its action), the TrID of a numeric reply (``-`` when
    none), and the detail (the verb it answers and any further arguments, the ``error``
    record's message, or what the fault did).
    """
    table = Table("Errors", ["time s", "conn", "dir", "error", "trid", "detail"])
    requests: dict[tuple[int, int], str] = {}
    for record in capture.records:
        kind = record.get("type")
        rel = capture.relative(record)
        if kind == "cmd":
            trid = record.get("trid")
            verb = str(record.get("cmd"))
            if record.get("dir") == "c2s" and isinstance(trid, int):
                requests[(record["conn"], trid)] = verb
            elif verb.isdigit():
                answered = requests.get((record["conn"], trid)) if isinstance(trid, int) else None
                detail = f"reply to {answered}" if answered else "no matching request"
                args = record_command(record).args
                if args:
                    detail += f" (args: {' '.join(args)})"
                table.rows.append(
                    [
                        _seconds(rel),
                        capture.name(record["conn"]),
                        record.get("dir"),
                        verb,
                        trid if isinstance(trid, int) else "-",
                        detail,
                    ]
                )
        elif kind == "fault":
            table.rows.append(
                [
                    _seconds(rel),
                    capture.name(record["conn"]),
                    record.get("dir") or "-",
                    f"fault {record.get('action', '?')}",
                    "-",
                    fault_text(record),
                ]
            )
        elif kind == "error":
            table.rows.append(
                [
                    _seconds(rel),
                    capture.name(record["conn"]),
                    record.get("dir") or "-",
                    f"{record.get('kind', '?')}",
                    "-",
                    error_text(record),
                ]
            )
    return table


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
    return [
        connection_table(capture),
        verb_table(capture),
        latency_table(capture),
        error_table(capture),
    ]


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
