"""msproxy.testing: assertions over captured sessions, for anyone's test suite.

``assert_same_session(a, b)`` compares two sessions the way ``msproxy diff`` does and,
when they differ, raises ``AssertionError`` whose message is the ``msproxy diff`` text
(pytest shows it in full; so does unittest). ``a`` and ``b`` are capture files or record
lists: a whole capture, or any subset of one, such as the records of some connections
taken from ``msnp_proxy.records()``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from msproxy.capture import Record
from msproxy.inspect import DEFAULT_IGNORE, ConnectionDiff, diff_captures, format_diff
from msproxy.inspect.diff import DEFAULT_REORDER_WINDOW

Session = str | os.PathLike[str] | Iterable[Record]
"""A capture file, or capture records (a header first, or any subset of a capture)."""

__all__ = ["Session", "assert_same_session", "session_diff"]


def assert_same_session(
    a: Session,
    b: Session,
    *,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    ignore_cmd: Iterable[str] = (),
    reorder_window: int = DEFAULT_REORDER_WINDOW,
    roles: Iterable[str] | None = None,
    context: int = 3,
) -> None:
    """Fail unless sessions ``a`` and ``b`` are the same under ``msproxy diff``'s rules.

    Args:
        a, b: capture files (paths) or record lists (a capture's records, or a subset).
        ignore: the normalisation rules (``msproxy.inspect.IGNORE_RULES``); default all.
        ignore_cmd: verbs left out of the comparison on both sides (``CHL``, ``QRY``,
            ``PNG``, ``QNG``: commands whose timing varies between runs).
        reorder_window: how many commands a server command that answers no pending
            request may move without counting as a difference (``--reorder-window``).
        roles: compare only connections of these roles (``["NS", "SB"]``).
        context: lines of context around each difference.

    Raises:
        AssertionError: the sessions differ; the message is the ``msproxy diff`` text.
        ValueError: an unknown role.
        CaptureFormatError: a file or record that is not a capture's.
    """
    diffs = session_diff(
        a,
        b,
        ignore=ignore,
        ignore_cmd=ignore_cmd,
        reorder_window=reorder_window,
        roles=roles,
        context=context,
    )
    if diffs:
        text = format_diff(diffs, _label(a, "a"), _label(b, "b"))
        raise AssertionError(f"the sessions differ (as msproxy diff shows them):\n{text}")


def session_diff(
    a: Session,
    b: Session,
    *,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    ignore_cmd: Iterable[str] = (),
    reorder_window: int = DEFAULT_REORDER_WINDOW,
    roles: Iterable[str] | None = None,
    context: int = 3,
) -> list[ConnectionDiff]:
    """The differences ``assert_same_session`` fails on (an empty list: the same)."""
    return diff_captures(
        _source(a),
        _source(b),
        ignore,
        roles=roles,
        context=context,
        ignore_cmd=ignore_cmd,
        reorder_window=reorder_window,
    )


def _source(session: Session) -> str | os.PathLike[str] | list[Record]:
    """A path as it is (``diff_captures`` reads it); records, taken once into a list."""
    return session if isinstance(session, str | os.PathLike) else list(session)


def _label(session: Session, default: str) -> str:
    return os.fspath(session) if isinstance(session, str | os.PathLike) else default
