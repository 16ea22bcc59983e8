"""msproxy/inspect/filters: which records to look at (connection, verb, direction, regex)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from msproxy.capture import Record, get_bytes, record_command
from msproxy.view import names

DIRECTIONS = ("c2s", "s2c")


def parse_conn(text: str) -> tuple[int, str | None]:
    """``--conn``'s value as ``(id, role)`` (``names.parse_conn``, its error naming the flag).

    Raises:
        ValueError: neither a number nor a ``ROLE#number`` name.
    """
    try:
        return names.parse_conn(text)
    except ValueError as exc:
        raise ValueError(f"--conn takes {exc}") from None


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """A conjunction of conditions on records; an unset condition matches everything.

    Attributes:
        conns: connection ids to keep.
        verbs: command verbs to keep (``cmd``, ``rewrite`` and ``fault`` records only).
        direction: ``"c2s"`` or ``"s2c"`` (records without a direction are dropped).
        pattern: a regex searched in the record's text (command line and payload).
    """

    conns: frozenset[int] | None = None
    verbs: frozenset[str] | None = None
    direction: str | None = None
    pattern: re.Pattern[str] | None = None

    def __call__(self, record: Record) -> bool:
        if self.conns is not None and record.get("conn") not in self.conns:
            return False
        if self.verbs is not None and (
            record.get("type") not in ("cmd", "rewrite", "fault")
            or record.get("cmd") not in self.verbs
        ):
            return False
        if self.direction is not None and record.get("dir") != self.direction:
            return False
        return self.pattern is None or self.pattern.search(record_text(record)) is not None

    @classmethod
    def build(
        cls,
        *,
        conns: Iterable[int] | None = None,
        verbs: Iterable[str] | None = None,
        direction: str | None = None,
        pattern: str | None = None,
    ) -> RecordFilter:
        """A filter from plain values (verbs are upper-cased; the regex is compiled).

        Raises:
            ValueError: an unknown direction or an invalid regex.
        """
        if direction is not None and direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        try:
            compiled = re.compile(pattern) if pattern is not None else None
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return cls(
            conns=frozenset(conns) if conns is not None else None,
            verbs=frozenset(v.upper() for v in verbs) if verbs is not None else None,
            direction=direction,
            pattern=compiled,
        )


def record_text(record: Record) -> str:
    """The searchable text of a record: its command line and payload, or its fields."""
    kind = record.get("type")
    if kind == "cmd":
        command = record_command(record)
        text = command.line
        if command.payload is not None:
            text += "\n" + command.payload.decode("utf-8", "replace")
        return text
    if kind == "raw":
        return (get_bytes(record, "data") or b"").decode("utf-8", "replace")
    return " ".join(f"{key}={value}" for key, value in record.items() if key not in ("t", "conn"))
