"""msproxy/inspect/diff_report: what ``diff`` found, and how it is told.

``ConnectionDiff`` holds the differences of one pair of connections in hunks of
``DiffLine`` s; ``format_diff`` writes them as unified-style text (what ``msproxy diff``
prints and ``assert_same_session`` fails with), ``diff_json`` as JSON-ready data
(``msproxy diff --json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PAYLOAD_PREFIX = "|   "  # how format_diff indents a payload diff under its command


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
    """The differences of one pair of connections (either may be missing: unpaired)."""

    label: str  # the pair: session, role and order ("alice@example.com SB 2")
    role: str | None
    a_conn: int | None
    b_conn: int | None
    hunks: list[Hunk] = field(default_factory=list)
    a_name: str | None = None  # each side's own connection name ("SB#3"), None when absent
    b_name: str | None = None
    session: str | None = None  # the account's handle, None when the connections have none

    @property
    def removed(self) -> int:
        """How many lines are only in A (``-`` lines)."""
        return sum(1 for h in self.hunks for line in h.lines if line.tag == "-")

    @property
    def added(self) -> int:
        """How many lines are only in B (``+`` lines)."""
        return sum(1 for h in self.hunks for line in h.lines if line.tag == "+")

    @property
    def unpaired(self) -> str | None:
        """``"a"`` or ``"b"`` when only that side has the connection, else None."""
        if self.b_conn is None:
            return "a"
        if self.a_conn is None:
            return "b"
        return None


def format_diff(diffs: list[ConnectionDiff], a_name: str = "a", b_name: str = "b") -> str:
    """The differences as unified-style text (empty string when there are none).

    Each pair starts with ``--- A SB#3`` / ``+++ B SB#5``: the file and that side's own
    connection name (as ``show`` prints it), or ``/dev/null`` when that side has none;
    an unpaired connection is announced before that by ``=== <label>: unpaired, only
    in A``.
    """
    out: list[str] = []
    for diff in diffs:
        if diff.unpaired is not None:
            only = a_name if diff.unpaired == "a" else b_name
            out.append(f"=== {diff.label}: unpaired, only in {only}")
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

    ``[{"label", "session", "role", "a_conn", "b_conn", "a_name", "b_name", "unpaired",
    "removed", "added", "hunks": [{"a_start", "a_count", "b_start", "b_count", "lines":
    [{"tag", "text"[, "payload_diff"]}]}]}]``: ``label`` names the pair
    (``alice@example.com SB 1``), ``session`` its account (null without one),
    ``a_name``/``b_name`` each side's connection (``SB#3``, null when that side has
    none), ``unpaired`` ``"a"``/``"b"`` when only that side has one, else null.
    """
    return [
        {
            "label": diff.label,
            "session": diff.session,
            "role": diff.role,
            "a_conn": diff.a_conn,
            "b_conn": diff.b_conn,
            "a_name": diff.a_name,
            "b_name": diff.b_name,
            "unpaired": diff.unpaired,
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
