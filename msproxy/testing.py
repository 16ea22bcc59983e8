"""msproxy.testing: assertions over captured sessions, for anyone's test suite.

``assert_same_session(a, b)`` compares two sessions the way ``msproxy diff`` does and,
when they differ, raises ``AssertionError`` whose message is the ``msproxy diff`` text
(pytest shows it in full; so does unittest). ``a`` and ``b`` are capture files or record
lists: a whole capture, or any subset of one, such as the records of some connections
taken from ``msnp_proxy.records()``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Sequence
from typing import Any

from msproxy.capture import Record, header_record, read_capture
from msproxy.inspect import DEFAULT_IGNORE, ConnectionDiff, diff_captures, format_diff

Session = str | os.PathLike[str] | Iterable[Record]
"""A capture file, or capture records (a header first, or any subset of a capture)."""

__all__ = ["Session", "assert_same_session", "session_diff"]


def assert_same_session(
    a: Session,
    b: Session,
    *,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    ignore_cmd: Iterable[str] = (),
    roles: Iterable[str] | None = None,
    context: int = 3,
) -> None:
    """Fail unless sessions ``a`` and ``b`` are the same under ``msproxy diff``'s rules.

    Args:
        a, b: capture files (paths) or record lists (a capture's records, or a subset).
        ignore: the normalisation rules (``msproxy.inspect.IGNORE_RULES``); default all.
        ignore_cmd: verbs left out of the comparison on both sides (``CHL``, ``QRY``,
            ``PNG``, ``QNG``: commands whose timing varies between runs).
        roles: compare only connections of these roles (``["NS", "SB"]``).
        context: lines of context around each difference.

    Raises:
        AssertionError: the sessions differ; the message is the ``msproxy diff`` text.
        ValueError: an unknown role.
        CaptureFormatError: a file or record that is not a capture's.
    """
    diffs = session_diff(a, b, ignore=ignore, ignore_cmd=ignore_cmd, roles=roles, context=context)
    if diffs:
        text = format_diff(diffs, _label(a, "a"), _label(b, "b"))
        raise AssertionError(f"the sessions differ (as msproxy diff shows them):\n{text}")


def session_diff(
    a: Session,
    b: Session,
    *,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    ignore_cmd: Iterable[str] = (),
    roles: Iterable[str] | None = None,
    context: int = 3,
) -> list[ConnectionDiff]:
    """The differences ``assert_same_session`` fails on (an empty list: the same)."""
    verbs = frozenset(verb.upper() for verb in ignore_cmd)
    options: dict[str, Any] = {"roles": roles, "context": context}
    return _diff(_records(a), _records(b), frozenset(ignore), verbs, options)


def _diff(
    a: list[Record],
    b: list[Record],
    ignore: frozenset[str],
    ignore_cmd: frozenset[str],
    options: dict[str, Any],
) -> list[ConnectionDiff]:
    """``diff_captures`` with ``ignore_cmd``: passed on when the diff engine takes the
    keyword, else done here by leaving those commands out of both sides."""
    if ignore_cmd and "ignore_cmd" in inspect.signature(diff_captures).parameters:
        options = {**options, "ignore_cmd": ignore_cmd}
    elif ignore_cmd:
        a, b = _without(a, ignore_cmd), _without(b, ignore_cmd)
    return diff_captures(a, b, ignore, **options)


def _without(records: list[Record], verbs: frozenset[str]) -> list[Record]:
    return [r for r in records if r.get("type") != "cmd" or r.get("cmd") not in verbs]


def _records(session: Session) -> list[Record]:
    """The records of a session, a header first (a bare subset of records gets one)."""
    if isinstance(session, str | os.PathLike):
        return list(read_capture(session))
    records = list(session)
    if not records or records[0].get("type") != "header":
        records.insert(0, header_record(_first_time(records), "msproxy.testing"))
    return records


def _first_time(records: Sequence[Record]) -> float:
    for record in records:
        t = record.get("t")
        if isinstance(t, int | float) and not isinstance(t, bool):
            return float(t)
    return 0.0


def _label(session: Session, default: str) -> str:
    return os.fspath(session) if isinstance(session, str | os.PathLike) else default
