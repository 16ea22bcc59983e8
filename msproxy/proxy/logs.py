"""msproxy/proxy/logs: the ``Log`` commands a relay emits, each under its debug flag.

COMMAND_SEND for client commands, COMMAND_RECV for server commands (the proxy stands where
the client's library would), PACKET_SEND / PACKET_RECV for the bytes of each chunk,
NOTIFICATION for list and presence commands when the COMMAND flag of that direction is
off, OPEN / CLOSE for the connection, HANDLER for rewrites, and CONFUSED (always, at
WARNING) for malformed traffic and limits. Every line starts with the connection's name
(``%s``), then says what ``msproxy show`` says of the same record: ``->``/``<-`` and the
command, ``** open``, ``** close``, ``** rewrite``, ``!! error ...``, ``raw ...``.
"""

from __future__ import annotations

import logging

from msmgr.codec import Command, CommandRun, Dialect, Unparsed
from msmgr.debug import NOTIFICATION_VERBS, Debug
from msproxy.view.console import ARROWS, command_text, hexdump
from msproxy.view.payload import raw_preview
from msproxy.view.subject import Subject

from .commands import Log, LogRun
from .redact import SECRET_VERBS, Redactor
from .ways import Way


def trace(flag: Debug, name: str, msg: str, *args: object, subject: Subject | None = None) -> Log:
    """A DEBUG line under ``flag``; ``msg`` starts with ``%s`` for the connection's name."""
    return Log(flag=flag, level=logging.DEBUG, msg=msg, args=(name, *args), subject=subject)


def packet(name: str, way: Way, data: bytes | bytearray) -> Log:
    """The hexdump of a chunk read from ``way``'s side."""
    return Log(
        flag=way.packet_flag,
        level=logging.DEBUG,
        msg="%s %s %d bytes\n%s",
        args=(name, ARROWS[way.dir], len(data), hexdump(data)),
    )


def command(
    name: str,
    way: Way,
    debug: Debug,
    command: Command,
    redactor: Redactor | None,
    *,
    conn: int | None = None,
    role: str | None = None,
) -> Log | None:
    """The console line of ``command``, or None when ``debug`` shows none for it; with
    ``conn`` (and ``role`` when known), the line carries its subject for the filter."""
    flag = way.command_flag
    if not debug & flag:
        if not (debug & Debug.NOTIFICATION and command.verb in NOTIFICATION_VERBS):
            return None
        flag = Debug.NOTIFICATION
    shown = command
    if redactor is not None and command.verb in SECRET_VERBS:
        shown = redactor.redact(way.direction, command) or command
    text = command_text(shown) if shown is command else command_text(shown) + "  [redacted]"
    return Log(
        flag=flag,
        level=logging.DEBUG,
        msg="%s %s %s",
        args=(name, ARROWS[way.dir], text),
        subject=None if conn is None else Subject.of_command(conn, way.dir, shown, role),
    )


def run(
    name: str,
    way: Way,
    debug: Debug,
    run: CommandRun,
    *,
    conn: int,
    role: str | None,
    dialect: Dialect,
) -> LogRun | None:
    """The console lines of a fast-path run, handed over as the run (the console parses
    it off the relay's path), or None when ``debug`` shows none of its commands."""
    flag = way.command_flag
    only = not debug & flag
    if only:
        if not debug & Debug.NOTIFICATION:
            return None
        flag = Debug.NOTIFICATION
    return LogRun(
        flag=flag,
        name=name,
        conn=conn,
        role=role,
        direction=way.direction,
        dialect=dialect,
        run=run,
        notifications_only=only,
    )


def confused(name: str, msg: str, *args: object) -> Log:
    """A CONFUSED warning (always shown); ``msg`` starts with ``%s`` for the name."""
    return Log(flag=Debug.CONFUSED, level=logging.WARNING, msg=msg, args=(name, *args))


def unparsed(name: str, direction: str, event: Unparsed, *, forwarded: bool) -> Log:
    """The warning for bytes that are not a command."""
    return confused(
        name,
        "%s %s raw %d bytes (%s%s): %s",
        ARROWS[direction],
        len(event.raw),
        event.reason,
        "" if forwarded else ", not forwarded",
        raw_preview(bytes(event.raw)),
    )


def limit(name: str, direction: str, reason: str) -> Log:
    """The warning for a line or payload over the limits (the connection closes)."""
    return confused(name, "%s !! error limit (%s): %s", direction, reason)


def connect_failed(name: str, role: str, upstream: str, error: str) -> Log:
    """The warning for an upstream connection that could not be made (flag OPEN)."""
    return Log(
        flag=Debug.OPEN,
        level=logging.WARNING,
        msg="%s !! error connect: cannot connect to %s: %s",
        args=(name, upstream, error),
    )
