"""msproxy/inspect/session_plan: how the connections of a recorded session hang together.

A whole-session replay (``session_replay``) needs to know, before any client connects:

* which recorded connections can be played (those with commands), in the order the
  proxy opened them;
* which redirect record (``XFR NS``, ``XFR SB``, ``RNG``) led to which connection: a
  switchboard by the cookie its first ``USR``/``ANS`` presents, an NS by order (the
  first unclaimed ``XFR NS`` of its parent);
* where each record stands in the capture (its position: the global recorded order);
* which recorded connection a new live connection stands for (``route``).

Routing rule, given the live client's first command:

1. It presents a switchboard cookie (``USR trid handle cookie`` or ``ANS trid handle
   cookie sessid``): the unclaimed switchboard whose recorded first command has that
   cookie (the replayer sent the recorded cookies, so a faithful client echoes them);
   failing that the first unclaimed switchboard, offered ones first.
2. Otherwise it is a DS or NS connection: among the unclaimed non-switchboard
   connections, the first (in recorded order) whose recorded first command matches the
   live one under the ignore rules, looking first at those already *offered* (roots, and
   connections whose redirect has been sent), then at the others; failing a match, the
   first offered one, then the first at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from msmgr.codec import Command
from msmgr.codec.redirect import find_redirect
from msproxy.capture import Record, record_command

from .model import Capture
from .normalize import DEFAULT_IGNORE, normalize

LOGIN_METHODS = frozenset({"MD5", "TWN", "SSO", "SHA"})


def sb_cookie(command: Command) -> str | None:
    """The switchboard cookie a client's first command presents, or None.

    ``USR trid handle cookie`` (joining a switchboard it asked for) and
    ``ANS trid handle cookie sessid`` (answering a ``RNG``); an NS login
    (``USR trid MD5 I handle``) presents none.
    """
    args = command.args
    if command.verb == "ANS" and len(args) >= 2:
        return args[1]
    if command.verb == "USR" and len(args) >= 2 and args[0] not in LOGIN_METHODS:
        return args[1]
    return None


@dataclass(frozen=True, slots=True)
class PlannedConnection:
    """A recorded connection a whole-session replay can play."""

    conn: int
    name: str
    role: str | None
    parent: int | None
    first: Record | None  # the client's first command, None if the client never spoke
    server_first: bool  # the recorded server spoke before the client
    cookie: str | None  # the switchboard cookie of the first command

    @property
    def is_switchboard(self) -> bool:
        return self.role == "SB" or self.cookie is not None


class SessionPlan:
    """The playable connections of a capture, its redirects and the recorded order."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self._positions = {id(record): index for index, record in enumerate(capture.records)}
        self.connections: dict[int, PlannedConnection] = {}
        firsts: dict[int, Record] = {}
        spoke: dict[int, str] = {}
        for record in capture.commands():
            conn = record["conn"]
            spoke.setdefault(conn, str(record.get("dir")))
            if record.get("dir") == "c2s":
                firsts.setdefault(conn, record)
        order = [c for c in capture.connections if c in spoke]
        for conn in order:
            info = capture.connections[conn]
            first = firsts.get(conn)
            self.connections[conn] = PlannedConnection(
                conn,
                info.name,
                info.role,
                info.parent if info.parent in spoke else None,
                first,
                spoke[conn] == "s2c",
                sb_cookie(record_command(first)) if first is not None else None,
            )
        self.client_positions = [
            self.position(r) for r in capture.commands() if r.get("dir") == "c2s"
        ]
        self.redirects = self._match_redirects()

    def position(self, record: Record) -> int:
        """Where ``record`` (one of the capture's own records) stands in the capture."""
        return self._positions[id(record)]

    @property
    def roots(self) -> list[int]:
        """Connections no recorded redirect led to: where each client started."""
        led = {child for child in self.redirects.values() if child is not None}
        return [c for c in self.connections if c not in led]

    def client_chains(self) -> list[int]:
        """The DS/NS connections that start a client's chain (one per recorded client)."""
        return [c for c in self.roots if not self.connections[c].is_switchboard]

    def _match_redirects(self) -> dict[int, int | None]:
        """Position of every redirect record -> the connection it led to (None: none recorded)."""
        found: dict[int, list[tuple[int, str, str | None, str]]] = {}
        result: dict[int, int | None] = {}
        for record in self.capture.commands():
            if record.get("dir") != "s2c":
                continue
            info = find_redirect(record_command(record))
            if info is None:
                continue
            position = self.position(record)
            result[position] = None
            found.setdefault(record["conn"], []).append(
                (position, info.kind, info.cookie, info.via)
            )
        for planned in self.connections.values():
            if planned.parent is None:
                continue
            candidates = [
                (position, via)
                for position, kind, cookie, via in found.get(planned.parent, [])
                if result[position] is None
                and kind == ("SB" if planned.is_switchboard else "NS")
                and (planned.cookie is None or cookie == planned.cookie)
            ]
            via = self.capture.connections[planned.conn].via
            preferred = [p for p, v in candidates if via is None or v == via]
            chosen = preferred or [p for p, _ in candidates]
            if chosen:
                result[chosen[0]] = planned.conn
        return result

    def first_server_first(self, claimed: set[int], offered: set[int]) -> int | None:
        """The next DS/NS connection by order if its recorded server spoke first, else None.

        Such a connection cannot be routed by the client's first command: it is taken by
        order, without reading.
        """
        for conn in self._ordered(claimed, offered, switchboard=False):
            return conn if self.connections[conn].server_first else None
        return None

    def route(
        self,
        command: Command,
        claimed: set[int],
        offered: set[int],
        ignore: Iterable[str] = DEFAULT_IGNORE,
    ) -> int | None:
        """The recorded connection a live connection whose first command is ``command``
        stands for (rule in the module docstring), or None when none is left."""
        cookie = sb_cookie(command)
        candidates = self._ordered(claimed, offered, switchboard=cookie is not None)
        if cookie is not None:
            for conn in candidates:
                if self.connections[conn].cookie == cookie:
                    return conn
            return candidates[0] if candidates else None
        rules = frozenset(ignore) | {"trid"}
        have = normalize(command, "c2s", rules)
        for conn in candidates:
            first = self.connections[conn].first
            if first is not None and normalize(record_command(first), "c2s", rules) == have:
                return conn
        return candidates[0] if candidates else None

    def _ordered(self, claimed: set[int], offered: set[int], *, switchboard: bool) -> list[int]:
        """Unclaimed connections of one kind, offered ones first, each in recorded order."""
        free = [
            c
            for c, planned in self.connections.items()
            if c not in claimed and planned.is_switchboard == switchboard
        ]
        return [c for c in free if c in offered] + [c for c in free if c not in offered]
