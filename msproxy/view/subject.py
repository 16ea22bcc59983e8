"""msproxy/view/subject: what a filter looks at, and which account each connection serves.

A ``Subject`` is one thing a view shows: a command (a ``cmd`` record, or a command on the
live console) or an event (``open``, ``close``, ``rewrite``, ``error``, ``raw``). The
capture tools make one from each record (``subject_of``); the proxy makes one per
console line. ``Sessions`` follows the connections as subjects go by (their roles, the
connection each was redirected from, the account that logged in on it), so that
``handle alice@example.com`` finds every connection of alice's session: the dispatch
connection, the notification server it was sent to and every switchboard opened from
there. It remembers a few fields per connection, never the records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from msmgr.codec import Command
from msproxy.capture import get_bytes, record_command

EVENT_KINDS = ("open", "close", "rewrite", "error", "raw")
_LOGIN_METHODS = frozenset({"MD5", "TWN", "SSO", "CTP"})


@dataclass(slots=True)
class Subject:
    """One command or connection event, as a filter sees it (a record, a console line).

    Read-only in use (not frozen only because a frozen dataclass is several times slower
    to make, and the proxy makes one per console line). ``size``: the bytes of a ``raw``
    record; a command's is ``length()``.
    """

    kind: str
    conn: int
    direction: str | None = None
    role: str | None = None
    command: Command | None = None
    parent: int | None = None
    text: str = ""
    size: int | None = None

    @classmethod
    def of_command(
        cls, conn: int, direction: str, command: Command, role: str | None = None
    ) -> Subject:
        """A command of connection ``conn`` going ``direction`` (``c2s``/``s2c``)."""
        return cls("cmd", conn, direction, role, command)

    def length(self) -> int | None:
        """The size in bytes ``len`` compares: a command's line and payload, raw data."""
        return len(self.command.to_bytes()) if self.command is not None else self.size

    def line(self) -> str:
        """The text ``line ~`` searches: the command line, or the event's fields."""
        return self.command.line if self.command is not None else self.text


def subject_of(record: Mapping[str, Any]) -> Subject:
    """The subject of a capture record (``cmd`` or an event; not the header)."""
    kind = str(record.get("type"))
    conn = record.get("conn")
    conn = conn if isinstance(conn, int) else -1
    direction = record.get("dir") if isinstance(record.get("dir"), str) else None
    plain = record if isinstance(record, dict) else dict(record)
    if kind == "cmd":
        return Subject(kind, conn, direction, command=record_command(plain))
    role = record.get("role") if kind == "open" else None
    parent = record.get("parent") if kind == "open" else None
    size = None
    if kind == "raw":
        size = len(get_bytes(plain, "data") or b"")
    text = " ".join(
        f"{key}={value}" for key, value in record.items() if key not in ("t", "conn", "data")
    )
    return Subject(
        kind,
        conn,
        direction,
        role if isinstance(role, str) else None,
        parent=parent if isinstance(parent, int) else None,
        text=text,
        size=size,
    )


def login_handle(direction: str | None, command: Command) -> str | None:
    """The account a client command logs in as, lower-cased: ``USR 1 MD5 I alice@...``,
    ``USR 1 TWN I ...``, an SB's ``USR 1 alice@... cookie`` or ``ANS 1 alice@... cookie
    session`` (an MSNP16+ ``handle;{guid}`` loses its endpoint)."""
    if direction != "c2s" or command.verb not in ("USR", "ANS") or not command.args:
        return None
    args = command.args
    if command.verb == "USR" and args[0].upper() in _LOGIN_METHODS:
        if len(args) < 3 or args[1].upper() != "I":
            return None
        token = args[2]
    else:
        token = args[0]
    handle = token.split(";", 1)[0].lower()
    return handle if "@" in handle else None


@dataclass(slots=True)
class Sessions:
    """Roles, parents and accounts of the connections seen so far."""

    roles: dict[int, str] = field(default_factory=dict)
    parents: dict[int, int] = field(default_factory=dict)
    handles: dict[int, str] = field(default_factory=dict)

    def observe(self, subject: Subject) -> None:
        """Learn what ``subject`` says about its connection."""
        if subject.role is not None:
            self.roles[subject.conn] = subject.role
        if subject.kind == "open" and subject.parent is not None:
            self.parents[subject.conn] = subject.parent
        elif subject.command is not None:
            handle = login_handle(subject.direction, subject.command)
            if handle is not None:
                self.handles[subject.conn] = handle

    def role(self, conn: int) -> str | None:
        """The role of ``conn`` (``DS``, ``NS``, ``SB``), None while unknown."""
        return self.roles.get(conn)

    def handle(self, conn: int) -> str | None:
        """The account of ``conn``'s session: its own login, else its parent's (and so on)."""
        seen: set[int] = set()
        current: int | None = conn
        while current is not None and current not in seen:
            handle = self.handles.get(current)
            if handle is not None:
                return handle
            seen.add(current)
            current = self.parents.get(current)
        return None
