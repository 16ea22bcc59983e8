"""msproxy/inspect/diff: compare two captures session by session, like diff(1).

Connections are paired by role and order: the first DS of A with the first DS of B, the
first NS with the first NS, the n-th switchboard with the n-th switchboard. Each pair's
commands (both directions, in capture order) are normalised under the ignore rules
(``normalize``) and aligned with ``difflib.SequenceMatcher``; the differences are shown
unified-style with the original command lines. A connection that exists on one side
only is all removed or all added.

When two aligned commands differ only in their payload (same line once normalised), the
``+`` line carries a line-level diff of the two payloads (``payload_diff``: MIME headers
and body, volatile headers ignored under the same rules); binary payloads keep only their
digests. ``diff_json`` gives the same differences as JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Any

from msproxy.capture import Record, get_bytes, record_command

from .model import Capture, CaptureConnection, make_capture
from .normalize import DEFAULT_IGNORE, normalize_record
from .payload_diff import payload_diff

PAYLOAD_PREFIX = "|   "  # how format_diff indents a payload diff under its command

ARROWS = {"c2s": "->", "s2c": "<-"}
ROLE_ORDER = {"DS": 0, "NS": 1, "SB": 2}
ROLES = tuple(ROLE_ORDER)  # what ``roles`` / ``--conn-role`` accept (any case)


@dataclass(frozen=True, slots=True)
class Entry:
    """One compared item of a connection: a command (or raw bytes) with its key and text."""

    key: str  # the normalised form: what is compared
    text: str  # the original form: what is shown
    record: Record
    line_key: str = ""  # the normalised form without the payload (key when absent)

    @property
    def payload(self) -> bytes | None:
        """The payload of a ``cmd`` entry, else None."""
        if self.record.get("type") != "cmd":
            return None
        return record_command(self.record).payload


@dataclass(frozen=True, slots=True)
class DiffLine:
    """A line of a hunk: ``" "`` in both, ``"-"`` only in A, ``"+"`` only in B.

    ``payload_diff`` (on a ``"+"`` line right after its ``"-"`` counterpart, when the two
    commands differ only in their text payloads) holds the payload's unified diff lines.
    """

    tag: str
    text: str
    payload_diff: tuple[str, ...] = ()


@dataclass(slots=True)
class Hunk:
    """A run of differences with context; starts are 1-based entry numbers."""

    a_start: int
    a_count: int
    b_start: int
    b_count: int
    lines: list[DiffLine] = field(default_factory=list)


@dataclass(slots=True)
class ConnectionDiff:
    """The differences of one pair of aligned connections (either may be missing)."""

    label: str  # the pair, by role and order: "DS", "NS", "SB 1", "SB 2" (ordinal_label)
    role: str | None
    a_conn: int | None
    b_conn: int | None
    hunks: list[Hunk] = field(default_factory=list)
    a_name: str | None = None  # each side's own connection name ("SB#3"), None when absent
    b_name: str | None = None

    @property
    def removed(self) -> int:
        """How many lines are only in A (``-`` lines)."""
        return sum(1 for h in self.hunks for line in h.lines if line.tag == "-")

    @property
    def added(self) -> int:
        """How many lines are only in B (``+`` lines)."""
        return sum(1 for h in self.hunks for line in h.lines if line.tag == "+")


def _as_capture(records: Capture | Iterable[Record]) -> Capture:
    return records if isinstance(records, Capture) else make_capture(records)


def entries(
    capture: Capture,
    conn: int,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    direction: str | None = None,
) -> list[Entry]:
    """The compared items of connection ``conn``: its ``cmd`` and ``raw`` records."""
    rules = frozenset(ignore)
    out = []
    for record in capture.records:
        if record.get("conn") != conn or (direction and record.get("dir") != direction):
            continue
        arrow = ARROWS.get(str(record.get("dir")), "??")
        if record.get("type") == "cmd":
            normalized = normalize_record(record, rules)
            command = record_command(record)
            text = command.line
            if normalized.payload is not None:
                text += f"  [{normalized.payload}]"
            line_key = f"{arrow} {replace(normalized, payload=None).text}"
            out.append(Entry(f"{arrow} {normalized.text}", f"{arrow} {text}", record, line_key))
        elif record.get("type") == "raw":
            data = get_bytes(record, "data") or b""
            text = f"{arrow} raw {data!r}"
            out.append(Entry(text, text, record))
    return out


def ordinal_label(role: str | None, index: int) -> str:
    """The label of the ``index``-th (from 0) connection of ``role`` in a pairing by role
    and order: ``DS``, ``NS``, ``NS 2``, ``SB 1``, ``SB 2`` ("the second SB of each side").

    Connection ids differ between two captures, so they cannot name a pair; and a label
    must not look like a connection name (``SB#2`` is connection 2), hence the space.
    """
    if role is None:
        return f"? {index + 1}"
    if role == "SB" or index:
        return f"{role} {index + 1}"
    return role


def parse_roles(roles: Iterable[str]) -> frozenset[str]:
    """The upper-cased roles, each one of ``ROLES`` (any case; empty items are skipped).

    Raises:
        ValueError: an unknown role, or none at all (a typo must not make two captures
            "equal" by comparing nothing).
    """
    wanted = frozenset(r.strip().upper() for r in roles if r.strip())
    if not wanted:
        raise ValueError(f"no connection role given (the roles are {', '.join(ROLES)})")
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise ValueError(
            f"unknown connection role {', '.join(map(repr, unknown))} "
            f"(the roles are {', '.join(ROLES)})"
        )
    return wanted


def pair_connections(
    a: Capture, b: Capture, roles: Iterable[str] | None = None
) -> list[tuple[str, str | None, CaptureConnection | None, CaptureConnection | None]]:
    """(label, role, A's connection, B's connection) for every aligned pair.

    Raises:
        ValueError: ``roles`` holds an unknown role (``parse_roles``).
    """
    wanted = parse_roles(roles) if roles is not None else None
    a_groups, b_groups = a.by_role(), b.by_role()
    pairs = []
    for role in sorted(
        set(a_groups) | set(b_groups), key=lambda r: (ROLE_ORDER.get(r or "", 9), r or "")
    ):
        if wanted is not None and (role or "").upper() not in wanted:
            continue
        a_list, b_list = a_groups.get(role, []), b_groups.get(role, [])
        for index in range(max(len(a_list), len(b_list))):
            a_conn = a_list[index] if index < len(a_list) else None
            b_conn = b_list[index] if index < len(b_list) else None
            label = ordinal_label(role, index)
            pairs.append((label, role, a_conn, b_conn))
    return pairs


def diff_entries(
    a: list[Entry],
    b: list[Entry],
    context: int = 3,
    ignore: Iterable[str] = DEFAULT_IGNORE,
) -> list[Hunk]:
    """Unified-diff hunks between two entry lists (empty when their keys are equal)."""
    rules = frozenset(ignore)
    matcher = SequenceMatcher(None, [e.key for e in a], [e.key for e in b], autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        hunk = Hunk(first[1] + 1, last[2] - first[1], first[3] + 1, last[4] - first[3])
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                hunk.lines.extend(DiffLine(" ", e.text) for e in a[i1:i2])
            elif tag == "replace":
                hunk.lines.extend(_replaced(a[i1:i2], b[j1:j2], rules, context))
            else:
                hunk.lines.extend(DiffLine("-", e.text) for e in a[i1:i2])
                hunk.lines.extend(DiffLine("+", e.text) for e in b[j1:j2])
        hunks.append(hunk)
    return hunks


def _replaced(
    a: list[Entry], b: list[Entry], rules: frozenset[str], context: int
) -> list[DiffLine]:
    """A replaced run: pairs that differ only in their payload first get a payload diff."""
    lines: list[DiffLine] = []
    matcher = SequenceMatcher(
        None, [e.line_key or e.key for e in a], [e.line_key or e.key for e in b], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            lines.extend(DiffLine("-", e.text) for e in a[i1:i2])
            lines.extend(DiffLine("+", e.text) for e in b[j1:j2])
            continue
        for old, new in zip(a[i1:i2], b[j1:j2], strict=True):
            lines.append(DiffLine("-", old.text))
            detail: list[str] | None = None
            if old.payload is not None and new.payload is not None:
                detail = payload_diff(old.payload, new.payload, rules, context)
            lines.append(DiffLine("+", new.text, tuple(detail or ())))
    return lines


def diff_captures(
    a_records: Capture | Iterable[Record],
    b_records: Capture | Iterable[Record],
    ignore: Iterable[str] = DEFAULT_IGNORE,
    *,
    roles: Iterable[str] | None = None,
    context: int = 3,
    split_directions: bool = False,
) -> list[ConnectionDiff]:
    """The differences between two captures; an empty list means "equal".

    Args:
        a_records, b_records: the captures (``Capture`` or records, header first).
        ignore: the normalisation rules (``normalize.IGNORE_RULES``); default: all.
        roles: compare only connections of these roles (``["NS"]``, any case).
        context: lines of context around each difference.
        split_directions: compare each direction separately (insensitive to how the
            two directions interleave, which can vary with timing).

    Raises:
        ValueError: ``roles`` holds an unknown role.
        CaptureFormatError: a malformed record.
    """
    a, b = _as_capture(a_records), _as_capture(b_records)
    rules = frozenset(ignore)
    result = []
    for label, role, a_conn, b_conn in pair_connections(a, b, roles):
        diff = ConnectionDiff(
            label,
            role,
            a_conn.conn if a_conn else None,
            b_conn.conn if b_conn else None,
            a_name=a_conn.name if a_conn else None,
            b_name=b_conn.name if b_conn else None,
        )
        for direction in ("c2s", "s2c") if split_directions else (None,):
            a_entries = entries(a, a_conn.conn, rules, direction) if a_conn else []
            b_entries = entries(b, b_conn.conn, rules, direction) if b_conn else []
            diff.hunks.extend(diff_entries(a_entries, b_entries, context, rules))
        if diff.hunks:
            result.append(diff)
    return result


def format_diff(diffs: list[ConnectionDiff], a_name: str = "a", b_name: str = "b") -> str:
    """The differences as unified-style text (empty string when there are none).

    Each pair starts with ``--- A SB#3`` / ``+++ B SB#5``: the file and that side's own
    connection name (as ``show`` prints it), or ``/dev/null`` when that side has none.
    """
    out: list[str] = []
    for diff in diffs:
        out.append(f"--- {_side(a_name, diff.a_name, diff.a_conn)}")
        out.append(f"+++ {_side(b_name, diff.b_name, diff.b_conn)}")
        for hunk in diff.hunks:
            out.append(f"@@ -{hunk.a_start},{hunk.a_count} +{hunk.b_start},{hunk.b_count} @@")
            for line in hunk.lines:
                out.append(f"{line.tag}{line.text}")
                out.extend(PAYLOAD_PREFIX + detail for detail in line.payload_diff)
    return "".join(line + "\n" for line in out)


def _side(file: str, name: str | None, conn: int | None) -> str:
    """A header's side: ``a.jsonl SB#3``, or ``/dev/null`` without a connection."""
    if conn is None:
        return "/dev/null"
    return f"{file} {name if name is not None else f'#{conn}'}"


def diff_json(diffs: list[ConnectionDiff]) -> list[dict[str, Any]]:
    """The differences as JSON-ready data: one object per pair of connections.

    ``[{"label", "role", "a_conn", "b_conn", "a_name", "b_name", "removed", "added",
    "hunks": [{"a_start", "a_count", "b_start", "b_count", "lines": [{"tag", "text"[,
    "payload_diff"]}]}]}]``: ``label`` names the pair (``SB 1``), ``a_name``/``b_name``
    each side's connection (``SB#3``, null when that side has none).
    """
    return [
        {
            "label": diff.label,
            "role": diff.role,
            "a_conn": diff.a_conn,
            "b_conn": diff.b_conn,
            "a_name": diff.a_name,
            "b_name": diff.b_name,
            "removed": diff.removed,
            "added": diff.added,
            "hunks": [
                {
                    "a_start": hunk.a_start,
                    "a_count": hunk.a_count,
                    "b_start": hunk.b_start,
                    "b_count": hunk.b_count,
                    "lines": [_line_json(line) for line in hunk.lines],
                }
                for hunk in diff.hunks
            ],
        }
        for diff in diffs
    ]


def _line_json(line: DiffLine) -> dict[str, Any]:
    data: dict[str, Any] = {"tag": line.tag, "text": line.text}
    if line.payload_diff:
        data["payload_diff"] = list(line.payload_diff)
    return data
