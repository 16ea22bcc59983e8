"""msproxy/web/filtering: the filter box, evaluated on the server.

The one function ``compile_filter`` turns the box's text into a predicate on records;
the web view calls nothing else. The box takes the filter language every view shares
(``msproxy.view.filterlang``, as ``show --filter``: ``cmd MSG and not dir c2s``,
``role SB``, ``(error or redirect)``): text that starts with one of its tests, ``not``
or ``(`` is an expression, and its mistakes are reported as such. Other text is read as
before the language existed: ``msproxy show``'s options as words, ``conn:SB#5`` (or
``conn:5,7``), ``cmd:MSG,NLN``, ``dir:c2s``, ``grep:REGEX``; any other word is a regular
expression searched in the record's text (several such words: joined by spaces). Quote
a word with spaces: ``grep:"hello there"``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from msproxy.capture import Record
from msproxy.inspect.filters import RecordFilter, parse_conn
from msproxy.view import filterlang

Predicate = Callable[[Record], bool]

_KEYS = ("conn", "cmd", "dir", "grep")


def compile_filter(text: str) -> Predicate | None:
    """The predicate the filter box's ``text`` stands for; None for an empty box.

    Raises:
        ValueError: the text is not a filter (unknown direction, bad regex, bad quoting).
    """
    if _is_expression(text):
        try:
            return filterlang.compile(text)
        except filterlang.FilterError as exc:
            raise ValueError(f"filter: {exc.message} (column {exc.column})") from None
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"filter: {exc}") from None
    if not words:
        return None
    found: dict[str, list[str]] = {key: [] for key in _KEYS}
    for word in words:
        key, sep, value = word.partition(":")
        if sep and key.lower() in found and value:
            found[key.lower()].extend(
                value.split(",") if key.lower() in ("conn", "cmd") else [value]
            )
        else:
            found["grep"].append(word)
    if len(found["dir"]) > 1:
        raise ValueError("filter: one dir: at most")
    conns = [parse_conn(name)[0] for name in found["conn"]] or None
    return RecordFilter.build(
        conns=conns,
        verbs=found["cmd"] or None,
        direction=found["dir"][0] if found["dir"] else None,
        pattern=" ".join(found["grep"]) or None,
    )


def _is_expression(text: str) -> bool:
    """Whether ``text`` starts as the filter language does: ``(`` or one of its words."""
    first = text.strip().split(maxsplit=1)[:1]
    if not first:
        return False
    word = first[0].lower()
    return word.startswith("(") or word in filterlang.KEYWORDS
