"""msproxy/inspect/replay_wire: what both replays do on the live connection.

Sending a step's recorded commands (our ``VER`` reply, when we stand in for the server,
fixes the stream's dialect) and, after the last step, reporting whatever else the peer
sends until it closes.
"""

from __future__ import annotations

import trio

from msmgr.codec import Command, parse_version
from msmgr.stream import CommandStream, StreamClosed

from .replay_report import ReplayIssue, ReplayReport

DEFAULT_TIMEOUT = 10.0
"""Seconds a replay waits for each step, unless told otherwise."""


async def send_commands(
    stream: CommandStream, commands: list[Command], report: ReplayReport
) -> None:
    """Send ``commands`` as one write and count them in ``report``."""
    for command in commands:
        if command.verb == "VER":  # we are the server: our VER reply fixes the dialect
            for token in command.args:
                version = parse_version(token)
                if version is not None:
                    stream.dialect.version = version
                    break
    if commands:
        await stream.send(*commands)
        report.sent += len(commands)


async def drain(commands: CommandStream, report: ReplayReport, step: int, wait: float) -> None:
    """After the last step: anything more the peer sends is unexpected, until it closes."""
    with trio.move_on_after(wait):
        while True:
            try:
                extra = await commands.receive()
            except StreamClosed:
                return
            report.issues.append(ReplayIssue("unexpected", step, None, str(extra)))
