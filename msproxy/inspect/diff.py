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
digests. The differences are told as text and as JSON-ready data by ``diff_report``.
"""

from __future__ import annotations

import functools
import os
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from msproxy.capture import Record, header_record

from .align import Opcode, opcodes
from .diff_report import (
    PAYLOAD_PREFIX,
    ConnectionDiff,
    DiffLine,
    Hunk,
    diff_json,
    format_diff,
)
from .model import Capture, load_capture, make_capture
from .normalize import DEFAULT_IGNORE
from .pairing import ROLES, Pair, ordinal_label, pair_connections, parse_roles
from .payload_diff import payload_diff
from .sides import Entry, KeyCache, Side, load_side, same_file, side_of

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
    "diff_files",
    "diff_json",
    "diff_sides",
    "entries",
    "format_diff",
    "ordinal_label",
    "pair_connections",
    "parse_ignore_cmd",
    "parse_roles",
]

DEFAULT_REORDER_WINDOW = 3  # how far a server notification may move (``reorder_window``)

ARROWS = {"c2s": "->", "s2c": "<-"}

Progress = Callable[[int, int], None]
"""Told (done, total) in commands of A as a diff goes on."""


def _loaded(source: Source) -> Capture | Iterable[Record]:
    """A capture given by its path, loaded (the other one is in memory anyway)."""
    if isinstance(source, str | os.PathLike):
        return load_capture(source)
    return source


def _as_capture(records: Capture | Iterable[Record]) -> Capture:
    """A ``Capture`` of ``records``; a list without its header (some connections'
    records, say) gets one."""
    if isinstance(records, Capture):
        return records
    listed = list(records)
    if not listed or listed[0].get("type") != "header":
        listed.insert(0, header_record(0.0, "records"))
    return make_capture(listed)


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
    side = side_of(capture, frozenset(ignore), parse_ignore_cmd(ignore_cmd), direction is not None)
    return side.of(conn, direction)


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
    The entries must hold their records (``Side.fill``).
    """
    rules = frozenset(ignore)
    groups = _plan(a, b, context, reorder_window, progress)
    return [_hunk(group, a.__getitem__, b.__getitem__, rules, context) for group in groups]


def _plan(
    a: list[Entry],
    b: list[Entry],
    context: int,
    reorder_window: int,
    progress: Callable[[int], None] | None,
) -> list[list[Item]]:
    """The hunks to show, as runs of items (no record needed yet: keys only)."""
    a_keys, b_keys = [e.key for e in a], [e.key for e in b]
    if a_keys == b_keys:
        if progress is not None:
            progress(len(a))
        return []
    codes = opcodes(a_keys, b_keys, progress)
    items = list(_items(codes, a, b, reorder_window, context))
    return list(_groups(items, context))


# An item of the merged sequence: (tag, A index or None, B index or None); tag " " is a
# line in both (or moved), "-" only in A, "+" only in B.
Item = tuple[str, int | None, int | None]
GAP: Item = ("|", None, None)  # equal entries left out: never inside a hunk


def _items(
    codes: list[Opcode], a: list[Entry], b: list[Entry], window: int, context: int
) -> Iterator[Item]:
    """The merged sequence of the alignment, with moved entries made context; of a long
    run of equal entries only ``context`` at each end, with a gap item between."""
    moved_a, moved_b = _moved(codes, a, b, window)
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            if i2 - i1 > 2 * context:
                yield from ((" ", i1 + k, j1 + k) for k in range(context))
                yield GAP
                yield from ((" ", i2 - k, j2 - k) for k in range(context, 0, -1))
            else:
                yield from ((" ", i1 + k, j1 + k) for k in range(i2 - i1))
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
        best: int | None = None
        for i in candidates[bisect_left(candidates, place - window - 1) :]:
            if i > place + window:
                break
            distance = _distance(i, place)
            closer = best is None or distance < _distance(best, place)
            if i not in moved_a and distance <= window and closer:
                best = i
        if best is not None:
            moved_a.add(best)
            moved_b.add(j)
    return moved_a, moved_b


def _distance(i: int, place: int) -> int:
    """How many entries an entry at A index ``i`` moved past to stand before ``place``."""
    return place - i - 1 if place > i else i - place


def _groups(items: list[Item], context: int) -> Iterator[list[Item]]:
    """Runs of items around changes, each with up to ``context`` unchanged items around it."""
    changes = [n for n, item in enumerate(items) if item[0] in "-+"]
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
    items: list[Item],
    a_at: Callable[[int], Entry],
    b_at: Callable[[int], Entry],
    rules: frozenset[str],
    context: int,
) -> Hunk:
    """The hunk of a run of items; ``a_at(i)``/``b_at(j)``: entry i of A, j of B."""
    a_lines = [i for _, i, _ in items if i is not None]
    b_lines = [j for _, _, j in items if j is not None]
    hunk = Hunk(
        a_lines[0] + 1 if a_lines else 1,
        len(a_lines),
        b_lines[0] + 1 if b_lines else 1,
        len(b_lines),
    )
    run: list[Item] = []
    for item in [*items, (" ", None, None)]:
        if item[0] != " ":
            run.append(item)
            continue
        if run:
            removed = [a_at(i) for _, i, _ in run if i is not None]
            added = [b_at(j) for _, _, j in run if j is not None]
            hunk.lines.extend(_replaced(removed, added, rules, context))
            run = []
        _, i, j = item
        if i is not None:  # context as in A; a moved entry as in B, where it now is
            hunk.lines.append(DiffLine(" ", a_at(i).text))
        elif j is not None:
            hunk.lines.append(DiffLine(" ", b_at(j).text))
    return hunk


def _replaced(
    a: list[Entry], b: list[Entry], rules: frozenset[str], context: int
) -> list[DiffLine]:
    """A replaced run: pairs that differ only in their payload first get a payload diff."""
    if not a or not b:
        return [*(DiffLine("-", e.text) for e in a), *(DiffLine("+", e.text) for e in b)]
    lines: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in opcodes([e.line_key for e in a], [e.line_key for e in b]):
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


Source = Capture | Iterable[Record] | str | os.PathLike[str]
"""A capture as ``diff_captures`` takes it: loaded, records, or a file's path."""


def diff_captures(
    a_records: Source,
    b_records: Source,
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
        a_records, b_records: the captures (``Capture`` or records: all of a capture,
            header first, or any of its records, such as those of some connections;
            or a capture file's path, read as ``diff_files`` reads it).
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
        OSError: a capture file cannot be read.
    """
    _check_options(roles, context, reorder_window)
    options: dict[str, Any] = {
        "roles": roles,
        "context": context,
        "split_directions": split_directions,
        "ignore_cmd": ignore_cmd,
        "reorder_window": reorder_window,
        "progress": progress,
    }
    if isinstance(a_records, str | os.PathLike) and isinstance(b_records, str | os.PathLike):
        return diff_files(a_records, b_records, ignore, **options)
    a, b = _as_capture(_loaded(a_records)), _as_capture(_loaded(b_records))
    if a is b or a.records == b.records:  # equal records: nothing can differ
        return []
    rules, skip = frozenset(ignore), parse_ignore_cmd(ignore_cmd)
    cache: KeyCache = {}
    a_side = side_of(a, rules, skip, split_directions, cache)
    b_side = side_of(b, rules, skip, split_directions, cache)
    return diff_sides(
        a_side,
        b_side,
        rules,
        roles=roles,
        context=context,
        reorder_window=reorder_window,
        progress=progress,
    )


def diff_files(
    a_path: str | os.PathLike[str],
    b_path: str | os.PathLike[str],
    ignore: Iterable[str] = DEFAULT_IGNORE,
    *,
    roles: Iterable[str] | None = None,
    context: int = 3,
    split_directions: bool = False,
    ignore_cmd: Iterable[str] = (),
    reorder_window: int = DEFAULT_REORDER_WINDOW,
    progress: Progress | None = None,
    read_progress: Callable[[str, int], None] | None = None,
) -> list[ConnectionDiff]:
    """``diff_captures`` of two capture files, in memory for one pair of connections at a
    time: each file is read once to index it, then each pair's commands once more, and
    those shown once more (``sides``); two files of the same bytes are equal at once.

    ``read_progress`` is told (path, records read so far) while a file is read.

    Raises:
        OSError: a file cannot be read (or is read while it changes).
        ValueError, CaptureFormatError: as ``diff_captures``.
    """
    _check_options(roles, context, reorder_window)
    if same_file(a_path, b_path):  # byte for byte the same: equal under any options
        return []
    rules, skip = frozenset(ignore), parse_ignore_cmd(ignore_cmd)
    sides: list[Side] = []
    cache: KeyCache = {}  # both sides: pairs are read one after the other
    for path in (a_path, b_path):
        tick = None
        if read_progress is not None:
            tick = functools.partial(_read_tick, read_progress, os.fspath(path))
        sides.append(load_side(path, rules, skip, split_directions, progress=tick, cache=cache))
    return diff_sides(
        sides[0],
        sides[1],
        rules,
        roles=roles,
        context=context,
        reorder_window=reorder_window,
        progress=progress,
    )


def _read_tick(report: Callable[[str, int], None], path: str, count: int, _: int) -> None:
    report(path, count)


def _check_options(roles: Iterable[str] | None, context: int, reorder_window: int) -> None:
    if reorder_window < 0 or context < 0:
        raise ValueError("reorder_window and context must not be negative")
    if roles is not None:
        parse_roles(roles)


def diff_sides(
    a: Side,
    b: Side,
    rules: frozenset[str],
    *,
    roles: Iterable[str] | None = None,
    context: int = 3,
    reorder_window: int = DEFAULT_REORDER_WINDOW,
    progress: Progress | None = None,
) -> list[ConnectionDiff]:
    """The differences between two ``Side`` s (``diff_captures``' arguments), one pair
    of connections at a time: its entries are loaded, compared, the records of those
    shown fetched, and all of it dropped before the next pair."""
    pairs = pair_connections(
        a.capture, b.capture, roles, a_sessions=a.sessions(), b_sessions=b.sessions()
    )
    directions: tuple[str | None, ...] = (None,)
    if any(direction is not None for _, direction in a.counts.keys() | b.counts.keys()):
        directions = ("c2s", "s2c")
    total = sum(a.count(p.a.conn, d) for p in pairs if p.a is not None for d in directions)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(min(done, total), total)

    result = []
    for pair in pairs:  # one at a time: what a pair loaded is dropped on return
        diff = _pair_diff(a, b, pair, directions, rules, context, reorder_window, advance)
        if diff is not None:
            result.append(diff)
    return result


def _pair_diff(
    a: Side,
    b: Side,
    pair: Pair,
    directions: tuple[str | None, ...],
    rules: frozenset[str],
    context: int,
    reorder_window: int,
    advance: Callable[[int], None],
) -> ConnectionDiff | None:
    """The differences of one pair of connections (None: equal)."""
    a_conn = pair.a.conn if pair.a else None
    b_conn = pair.b.conn if pair.b else None
    a_parts = a.load(a_conn) if a_conn is not None else {}
    b_parts = b.load(b_conn) if b_conn is not None else {}
    diff: ConnectionDiff | None = None
    for direction in directions:
        a_entries = a_parts.get(direction, [])
        b_entries = b_parts.get(direction, [])
        groups = _plan(a_entries, b_entries, context, reorder_window, advance)
        if not groups:
            continue
        a.fill(a_conn, a_entries, (i for g in groups for _, i, _ in g if i is not None))
        b.fill(b_conn, b_entries, (j for g in groups for _, _, j in g if j is not None))
        if diff is None:
            diff = _connection_diff(pair)
        for group in groups:
            hunk = _hunk(group, a_entries.__getitem__, b_entries.__getitem__, rules, context)
            diff.hunks.append(hunk)
    return diff


def _connection_diff(pair: Pair) -> ConnectionDiff:
    return ConnectionDiff(
        pair.label,
        pair.role,
        pair.a.conn if pair.a else None,
        pair.b.conn if pair.b else None,
        a_name=pair.a.name if pair.a else None,
        b_name=pair.b.name if pair.b else None,
        session=pair.session,
    )
