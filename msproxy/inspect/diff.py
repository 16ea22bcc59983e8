"""msproxy/inspect/diff: compare two captures session by session, like diff(1).

Connections are paired by session (the account that logged in on them), then role, then
order (``pairing``); a connection without a partner is reported as unpaired. Each pair's
commands (both directions, in capture order) are normalised under the ignore rules
(``normalize``), the verbs of ``ignore_cmd`` dropped, and aligned in near-linear time
(``align``: common prefix and suffix, then anchors on unique commands); the differences
are shown unified-style with the original command lines.

Server commands that answer no pending request (no TrID of a client command of that
connection: ``NLN``, ``CHL``, ``MSG`` from another participant, ``BYE``...) arrive when
the server sends them, so two runs interleave them differently with the client's
traffic. Such a command found removed on one side and added on the other within
``reorder_window`` commands of its place is taken as moved, not as a difference.

When two aligned commands differ only in their payload (same line once normalised), the
``+`` line carries a line-level diff of the two payloads (``payload_diff``: MIME headers
and body, volatile headers ignored under the same rules); binary payloads keep only their
digests. ``diff_json`` gives the same differences as JSON-ready data.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Any

from msproxy.capture import Record, get_bytes, record_command

from .align import Opcode, opcodes
from .model import Capture, make_capture
from .normalize import DEFAULT_IGNORE, normalize_record
from .pairing import ROLES, Pair, ordinal_label, pair_connections, parse_roles
from .payload_diff import payload_diff

__all__ = [
    "DEFAULT_REORDER_WINDOW",
    "PAYLOAD_PREFIX",
    "ROLES",
    "ConnectionDiff",
    "DiffLine",
    "Entry",
    "Hunk",
    "diff_captures",
    "diff_entries",
    "diff_json",
    "entries",
    "format_diff",
    "ordinal_label",
    "pair_connections",
    "parse_ignore_cmd",
    "parse_roles",
]

PAYLOAD_PREFIX = "|   "  # how format_diff indents a payload diff under its command
DEFAULT_REORDER_WINDOW = 3  # how far a server notification may move (``reorder_window``)

ARROWS = {"c2s": "->", "s2c": "<-"}

Progress = Callable[[int, int], None]
"""Told (done, total) in commands of A as a diff goes on."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One compared item of a connection: a command (or raw bytes) with its key and text."""

    key: str  # the normalised form: what is compared
    record: Record
    line_key: str = ""  # the normalised form without the payload (key when absent)
    movable: bool = False  # a server command answering no pending request
    suffix: str = ""  # what the shown text has after the command's line: payload digest

    @property
    def text(self) -> str:
        """The original form: what is shown (made when shown, the record's exact line)."""
        if self.record.get("type") != "cmd":
            return self.key
        arrow = ARROWS.get(str(self.record.get("dir")), "??")
        return f"{arrow} {record_command(self.record).line}{self.suffix}"

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


def _as_capture(records: Capture | Iterable[Record]) -> Capture:
    return records if isinstance(records, Capture) else make_capture(records)


def parse_ignore_cmd(verbs: Iterable[str] | str) -> frozenset[str]:
    """Upper-cased verbs from ``"CHL,QRY"`` or an iterable of verbs (empty items skipped)."""
    items = verbs.split(",") if isinstance(verbs, str) else verbs
    return frozenset(v.strip().upper() for v in items if v.strip())


def entries(
    capture: Capture,
    conn: int,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    direction: str | None = None,
    *,
    ignore_cmd: Iterable[str] = (),
) -> list[Entry]:
    """The compared items of connection ``conn``: its ``cmd`` and ``raw`` records."""
    records = (r for r in capture.records if r.get("conn") == conn)
    return _entries(records, frozenset(ignore), direction, parse_ignore_cmd(ignore_cmd))


def _entries(
    records: Iterable[Record],
    rules: frozenset[str],
    direction: str | None,
    skip: frozenset[str],
) -> list[Entry]:
    out = []
    requests: set[object] = set()  # TrIDs the client sent on this connection
    cache: dict[object, tuple[str, str]] = {}
    for record in records:
        kind = record.get("type")
        if kind not in ("cmd", "raw") or (direction and record.get("dir") != direction):
            continue
        arrow = ARROWS.get(str(record.get("dir")), "??")
        if kind == "raw":
            data = get_bytes(record, "data") or b""
            out.append(Entry(f"{arrow} raw {data!r}", record))
            continue
        verb, trid = record.get("cmd"), record.get("trid")
        if record.get("dir") == "c2s":
            requests.add(trid if isinstance(trid, int) else None)
        if verb in skip:
            continue
        line_key, suffix = _normalized(record, rules, arrow, cache)
        movable = record.get("dir") == "s2c" and (trid is None or trid not in requests)
        out.append(Entry(line_key + suffix, record, line_key, movable, suffix))
    return out


def _normalized(
    record: Record, rules: frozenset[str], arrow: str, cache: dict[object, tuple[str, str]]
) -> tuple[str, str]:
    """(line key, payload suffix) of a ``cmd`` record, cached by what they depend on: a
    capture repeats the same commands many times, with other TrIDs."""
    trid = record.get("trid")
    args = record.get("args")
    memo: object = (
        record.get("dir"),
        record.get("cmd"),
        "<trid>" if "trid" in rules and trid is not None else trid,
        tuple(args) if isinstance(args, list) else args,
        record.get("payload"),
        record.get("payload_b64"),
    )
    try:
        known = cache.get(memo)
    except TypeError:  # unhashable parts: a malformed record, which normalize rejects
        memo, known = None, None
    if known is None:
        normalized = normalize_record(record, rules)
        suffix = f"  [{normalized.payload}]" if normalized.payload is not None else ""
        known = (f"{arrow} {replace(normalized, payload=None).text}", suffix)
        if memo is not None:
            cache[memo] = known
    return known


def _by_connection(capture: Capture) -> dict[int, list[Record]]:
    """The records of each connection, in order (one pass over the capture)."""
    groups: dict[int, list[Record]] = defaultdict(list)
    for record in capture.records:
        groups[record["conn"]].append(record)
    return groups


def diff_entries(
    a: list[Entry],
    b: list[Entry],
    context: int = 3,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    *,
    reorder_window: int = 0,
    progress: Callable[[int], None] | None = None,
) -> list[Hunk]:
    """Unified-diff hunks between two entry lists (empty when their keys are equal).

    ``reorder_window``: a movable entry (``Entry.movable``) removed from A and added to B
    at most this many entries away from its place counts as moved, not as different.
    """
    rules = frozenset(ignore)
    a_keys, b_keys = [e.key for e in a], [e.key for e in b]
    if a_keys == b_keys:
        if progress is not None:
            progress(len(a))
        return []
    codes = opcodes(a_keys, b_keys, progress)
    items = list(_items(codes, a, b, reorder_window))
    return [_hunk(group, a, b, rules, context) for group in _groups(items, context)]


# An item of the merged sequence: (tag, A index or None, B index or None); tag " " is a
# line in both (or moved), "-" only in A, "+" only in B.
Item = tuple[str, int | None, int | None]


def _items(codes: list[Opcode], a: list[Entry], b: list[Entry], window: int) -> Iterator[Item]:
    """The merged sequence of the alignment, with moved entries made context."""
    moved_a, moved_b = _moved(codes, a, b, window)
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            for offset in range(i2 - i1):
                yield " ", i1 + offset, j1 + offset
            continue
        for i in range(i1, i2):
            if i not in moved_a:
                yield "-", i, None
        for j in range(j1, j2):
            yield (" ", None, j) if j in moved_b else ("+", None, j)


def _moved(
    codes: list[Opcode], a: list[Entry], b: list[Entry], window: int
) -> tuple[set[int], set[int]]:
    """The indices of A and B entries that only moved (within ``window`` of their place)."""
    if window <= 0:
        return set(), set()
    removed: dict[str, list[int]] = defaultdict(list)  # key -> A indices, increasing
    added: list[tuple[int, int]] = []  # (B index, its place in A's numbering)
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            continue
        for i in range(i1, i2):
            if a[i].movable:
                removed[a[i].key].append(i)
        added.extend((j, i1 + min(j - j1, i2 - i1)) for j in range(j1, j2) if b[j].movable)
    moved_a: set[int] = set()
    moved_b: set[int] = set()
    for j, place in added:
        candidates = removed.get(b[j].key, [])
        best = min(
            (i for i in candidates if i not in moved_a and _distance(i, place) <= window),
            key=lambda i: _distance(i, place),
            default=None,
        )
        if best is not None:
            moved_a.add(best)
            moved_b.add(j)
    return moved_a, moved_b


def _distance(i: int, place: int) -> int:
    """How many entries an entry at A index ``i`` moved past to stand before ``place``."""
    return place - i - 1 if place > i else i - place


def _groups(items: list[Item], context: int) -> Iterator[list[Item]]:
    """Runs of items around changes, each with up to ``context`` unchanged items around it."""
    changes = [n for n, item in enumerate(items) if item[0] != " "]
    if not changes:
        return
    start = max(0, changes[0] - context)
    end = changes[0] + 1
    for n in changes[1:]:
        if n - end > 2 * context:
            yield items[start : end + context]
            start = n - context
        end = n + 1
    yield items[start : min(len(items), end + context)]


def _hunk(
    items: list[Item], a: list[Entry], b: list[Entry], rules: frozenset[str], context: int
) -> Hunk:
    a_at = [i for _, i, _ in items if i is not None]
    b_at = [j for _, _, j in items if j is not None]
    hunk = Hunk(a_at[0] + 1 if a_at else 1, len(a_at), b_at[0] + 1 if b_at else 1, len(b_at))
    run: list[Item] = []
    for item in [*items, (" ", None, None)]:
        if item[0] != " ":
            run.append(item)
            continue
        if run:
            removed = [a[i] for _, i, _ in run if i is not None]
            added = [b[j] for _, _, j in run if j is not None]
            hunk.lines.extend(_replaced(removed, added, rules, context))
            run = []
        _, i, j = item
        if i is not None:  # context as in A; a moved entry as in B, where it now is
            hunk.lines.append(DiffLine(" ", a[i].text))
        elif j is not None:
            hunk.lines.append(DiffLine(" ", b[j].text))
    return hunk


def _replaced(
    a: list[Entry], b: list[Entry], rules: frozenset[str], context: int
) -> list[DiffLine]:
    """A replaced run: pairs that differ only in their payload first get a payload diff."""
    if not a or not b:
        return [*(DiffLine("-", e.text) for e in a), *(DiffLine("+", e.text) for e in b)]
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
    ignore_cmd: Iterable[str] = (),
    reorder_window: int = DEFAULT_REORDER_WINDOW,
    progress: Progress | None = None,
) -> list[ConnectionDiff]:
    """The differences between two captures; an empty list means "equal".

    Args:
        a_records, b_records: the captures (``Capture`` or records, header first).
        ignore: the normalisation rules (``normalize.IGNORE_RULES``); default: all.
        roles: compare only connections of these roles (``["NS"]``, any case).
        context: lines of context around each difference.
        split_directions: compare each direction separately (insensitive to how the
            two directions interleave, which can vary with timing).
        ignore_cmd: verbs left out of the comparison (``["CHL", "QRY", "PNG", "QNG"]``
            or ``"CHL,QRY"``), in both directions.
        reorder_window: how many commands a server command that answers no pending
            request may move without counting as a difference (0: none may).
        progress: called with (done, total) commands of A as the comparison goes on.

    Raises:
        ValueError: ``roles`` holds an unknown role, or ``reorder_window`` or
            ``context`` is negative.
        CaptureFormatError: a malformed record.
    """
    if reorder_window < 0 or context < 0:
        raise ValueError("reorder_window and context must not be negative")
    a, b = _as_capture(a_records), _as_capture(b_records)
    if a is b or a.records == b.records:  # equal records: nothing can differ
        if roles is not None:
            parse_roles(roles)
        return []
    rules = frozenset(ignore)
    skip = parse_ignore_cmd(ignore_cmd)
    pairs = pair_connections(a, b, roles)
    a_groups, b_groups = _by_connection(a), _by_connection(b)
    total = sum(len(a_groups.get(p.a.conn, ())) for p in pairs if p.a is not None)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(min(done, total), total)

    result = []
    for pair in pairs:
        diff = _diff_pair(
            pair,
            a_groups,
            b_groups,
            rules,
            skip,
            context,
            reorder_window,
            split_directions,
            advance,
        )
        if diff.hunks:
            result.append(diff)
    return result


def _scaled(advance: Callable[[int], None], scale: float, count: int) -> None:
    advance(round(count * scale))


def _diff_pair(
    pair: Pair,
    a_groups: dict[int, list[Record]],
    b_groups: dict[int, list[Record]],
    rules: frozenset[str],
    skip: frozenset[str],
    context: int,
    reorder_window: int,
    split_directions: bool,
    advance: Callable[[int], None],
) -> ConnectionDiff:
    diff = ConnectionDiff(
        pair.label,
        pair.role,
        pair.a.conn if pair.a else None,
        pair.b.conn if pair.b else None,
        a_name=pair.a.name if pair.a else None,
        b_name=pair.b.name if pair.b else None,
        session=pair.session,
    )
    a_records = a_groups.get(pair.a.conn, []) if pair.a else []
    b_records = b_groups.get(pair.b.conn, []) if pair.b else []
    for direction in ("c2s", "s2c") if split_directions else (None,):
        a_entries = _entries(a_records, rules, direction, skip)
        b_entries = _entries(b_records, rules, direction, skip)
        share = len(a_records) if not split_directions else len(a_records) // 2
        scale = share / len(a_entries) if a_entries else 0.0
        diff.hunks.extend(
            diff_entries(
                a_entries,
                b_entries,
                context,
                rules,
                reorder_window=reorder_window,
                progress=functools.partial(_scaled, advance, scale),
            )
        )
    return diff


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
