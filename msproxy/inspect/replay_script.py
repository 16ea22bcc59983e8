"""msproxy/inspect/replay_script: what a replay plays, the recorded steps of one connection.

A recorded connection is cut into steps: each client command with the server commands
that followed it, up to the next client command. Both replays (``replay_server``,
``replay_client``) walk these steps.

A reply recorded before the request it answers belongs after it: the proxy forwards a
client's bytes before it records them, so a fast server's reply (an upstream in another
thread or process) can reach the capture first. Such a server command, whose TrID a
later client command of the connection carries and no earlier one did, is moved to
just after that client command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from msproxy.capture import Record

from .model import Capture, make_capture


@dataclass(frozen=True, slots=True)
class Step:
    """A recorded client command (None before the first one) and the server commands after it."""

    request: Record | None
    replies: list[Record]


def as_capture(records: Capture | Iterable[Record]) -> Capture:
    """``records`` as a ``Capture`` (made from them unless they are one already)."""
    return records if isinstance(records, Capture) else make_capture(records)


def choose_connection(capture: Capture, conn: int | None = None) -> int:
    """``conn`` if the capture has commands on it, else the first connection with commands.

    Raises:
        ValueError: no such connection, or no commands at all.
    """
    with_commands = list(dict.fromkeys(r["conn"] for r in capture.commands()))
    if conn is None:
        if not with_commands:
            raise ValueError("the capture has no commands to replay")
        return int(with_commands[0])
    if conn not in with_commands:
        known = ", ".join(str(c) for c in with_commands) or "none"
        raise ValueError(f"connection {conn} has no commands in the capture (have: {known})")
    return conn


def script(records: Capture | Iterable[Record], conn: int) -> list[Step]:
    """The steps of connection ``conn``: each client command and the replies after it."""
    steps = [Step(None, [])]
    for record in replies_after_requests(list(as_capture(records).commands(conn))):
        if record.get("dir") == "c2s":
            steps.append(Step(record, []))
        else:
            steps[-1].replies.append(record)
    return steps if steps[0].replies else steps[1:]


def replies_after_requests(records: list[Record]) -> list[Record]:
    """One connection's ``cmd`` records with every reply recorded before its request
    moved to just after it (see the module docstring); other orders are kept."""
    requested = {r.get("trid") for r in records if r.get("dir") == "c2s"} - {None, 0}
    seen: set[object] = set()
    held: dict[object, list[Record]] = {}
    out: list[Record] = []
    for record in records:
        trid = record.get("trid")
        if record.get("dir") == "c2s":
            out.append(record)
            seen.add(trid)
            out.extend(held.pop(trid, ()))
        elif trid in requested and trid not in seen:
            held.setdefault(trid, []).append(record)
        else:
            out.append(record)
    out.extend(record for waiting in held.values() for record in waiting)
    return out
