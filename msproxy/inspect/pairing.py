"""msproxy/inspect/pairing: which connection of capture A is compared with which of B.

Two runs of one scenario open their connections in an order that depends on timing, and
an extra connection (a failed login, a retried switchboard) must not shift every later
pair. So connections are paired by session first, then by role, then by order:

- a connection's session is the account that logged in on it: the handle of its first
  ``USR ... I <handle>`` (DS, NS), ``USR <handle> <cookie>`` or ``ANS <handle> ...``
  (SB) from the client; a connection without one takes its parent's (the connection
  whose redirect led to it), else it has none;
- within one session and role, the n-th connection of A is paired with the n-th of B;
- what is left on one side is unpaired, and reported as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .model import Capture, CaptureConnection

ROLE_ORDER = {"DS": 0, "NS": 1, "SB": 2}
ROLES = tuple(ROLE_ORDER)  # what ``roles`` / ``--conn-role`` accept (any case)
_LOGIN_METHODS = frozenset({"MD5", "TWN", "SSO", "SHA"})


@dataclass(frozen=True, slots=True)
class Pair:
    """Two connections compared with each other; one side is None when unpaired."""

    label: str  # "alice@example.com NS", "alice@example.com SB 2", "DS" (no session)
    role: str | None
    session: str | None  # the account's handle, None when the connection has none
    a: CaptureConnection | None
    b: CaptureConnection | None

    @property
    def unpaired(self) -> str | None:
        """``"a"`` or ``"b"``: the only side that has this connection; None when paired."""
        if self.b is None:
            return "a"
        if self.a is None:
            return "b"
        return None


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


def sessions(capture: Capture) -> dict[int, str | None]:
    """The session (account handle) of every connection of ``capture``."""
    own: dict[int, str] = {}
    for record in capture.records:
        conn = record["conn"]
        if conn in own or record.get("type") != "cmd" or record.get("dir") != "c2s":
            continue
        handle = login_handle(str(record.get("cmd")), record.get("args"))
        if handle is not None:
            own[conn] = handle
    return inherit(capture.connections, own)


def inherit(
    connections: dict[int, CaptureConnection], own: dict[int, str]
) -> dict[int, str | None]:
    """Each connection's session: its own login's handle (``own``), else the nearest
    parent's, else None."""
    result: dict[int, str | None] = {}
    for conn, connection in connections.items():
        handle, seen, parent = own.get(conn), {conn}, connection.parent
        while handle is None and parent is not None and parent not in seen:
            seen.add(parent)
            handle = own.get(parent)
            known = connections.get(parent)
            parent = known.parent if known is not None else None
        result[conn] = handle
    return result


def login_handle(verb: str, args: object) -> str | None:
    """The handle a client command logs in with (``USR``, ``ANS``), else None."""
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        return None
    if verb == "USR" and len(args) >= 3 and args[0].upper() in _LOGIN_METHODS:
        return args[2] if args[1].upper() == "I" else None
    if verb in ("USR", "ANS") and len(args) >= 2 and args[0].upper() not in _LOGIN_METHODS:
        return str(args[0])
    return None


def pair_connections(
    a: Capture,
    b: Capture,
    roles: Iterable[str] | None = None,
    *,
    a_sessions: dict[int, str | None] | None = None,
    b_sessions: dict[int, str | None] | None = None,
) -> list[Pair]:
    """Every pair, by session, then role, then order; unpaired connections included.

    ``a_sessions``/``b_sessions``: each connection's session when already known (else
    ``sessions`` of the capture).

    Raises:
        ValueError: ``roles`` holds an unknown role (``parse_roles``).
    """
    wanted = parse_roles(roles) if roles is not None else None
    a_groups = _groups(a, a_sessions if a_sessions is not None else sessions(a))
    b_groups = _groups(b, b_sessions if b_sessions is not None else sessions(b))
    keys = sorted(
        set(a_groups) | set(b_groups),
        key=lambda k: (k[0] or "", ROLE_ORDER.get(k[1] or "", 9), k[1] or ""),
    )
    pairs = []
    for session, role in keys:
        if wanted is not None and (role or "").upper() not in wanted:
            continue
        a_list, b_list = a_groups.get((session, role), []), b_groups.get((session, role), [])
        for index in range(max(len(a_list), len(b_list))):
            label = ordinal_label(role, index)
            pairs.append(
                Pair(
                    f"{session} {label}" if session else label,
                    role,
                    session,
                    a_list[index] if index < len(a_list) else None,
                    b_list[index] if index < len(b_list) else None,
                )
            )
    return pairs


def _groups(
    capture: Capture, handles: dict[int, str | None]
) -> dict[tuple[str | None, str | None], list[CaptureConnection]]:
    """The connections by (session, role), each group in the order they were opened."""
    groups: dict[tuple[str | None, str | None], list[CaptureConnection]] = {}
    for conn, connection in capture.connections.items():
        groups.setdefault((handles.get(conn), connection.role), []).append(connection)
    return groups
