"""msproxy/inspect/replay_server: stand in for the recorded server of one connection.

For each step we wait for the live client to send a command matching the recorded one
(verb and arguments, volatile fields ignored, see ``normalize``), then send the recorded
replies with their TrIDs renumbered to the client's actual TrIDs. ``Director`` is how a
whole-session replay (``session_replay``) orders and rewrites what one connection sends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import trio

from msmgr.codec import Command, Dialect, MsnpError
from msmgr.codec.transactions import TridMap
from msmgr.listeners import open_listeners
from msmgr.stream import CommandStream, Role, StreamClosed
from msproxy.capture import Record, record_command

from .model import Capture
from .normalize import DEFAULT_IGNORE, normalize
from .replay_report import ReplayIssue, ReplayReport, mismatch
from .replay_script import as_capture, choose_connection, script
from .replay_wire import DEFAULT_TIMEOUT, drain, send_commands

logger = logging.getLogger(__name__)


class Director:
    """Hooks through which a whole-session replay orders and rewrites one connection's play.

    The default does nothing: a single connection replayed on its own.
    """

    def received(self, record: Record) -> None:
        """The live client's command standing for recorded ``record`` has been read."""

    def ready(self, record: Record) -> bool:
        """Whether the recorded server command ``record`` may be sent right now."""
        return True

    async def wait_turn(self, record: Record, step: int, report: ReplayReport) -> None:
        """Wait until ``record`` may be sent (called when ``ready`` said no)."""

    def outgoing(self, record: Record, command: Command) -> Command:
        """The command to send for ``record`` (TrIDs already renumbered)."""
        return command


async def replay_as_server(
    records: Capture | Iterable[Record],
    stream: trio.abc.Stream,
    *,
    conn: int | None = None,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    step_timeout: float = DEFAULT_TIMEOUT,
    accelerate: bool | None = None,
) -> ReplayReport:
    """Answer the live client on ``stream`` as the recorded server did.

    Args:
        records: the capture.
        stream: the accepted client connection (closed on return).
        conn: the recorded connection to play (default: the first with commands).
        ignore: fields ignored when matching the client's commands (TrIDs always are).
        step_timeout: seconds to wait for each client command.
        accelerate: the codec's C accelerator for the live connection (``Framer``);
            None (the default): when it is built.
    """
    capture = as_capture(records)
    conn = choose_connection(capture, conn)
    commands = CommandStream(stream, Role.SERVER, dialect=Dialect(), accelerate=accelerate)
    return await play_server_connection(
        capture, commands, conn, ignore=ignore, step_timeout=step_timeout
    )


async def play_server_connection(
    capture: Capture,
    commands: CommandStream,
    conn: int,
    *,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    step_timeout: float = DEFAULT_TIMEOUT,
    first: Command | None = None,
    director: Director | None = None,
    report: ReplayReport | None = None,
) -> ReplayReport:
    """Play recorded connection ``conn`` as the server on ``commands`` (closed on return).

    ``first`` is the client's first command when the caller already read it (to route
    the connection); ``director`` orders and rewrites what is sent (whole sessions).
    """
    rules = frozenset(ignore) | {"trid"}
    director = director or Director()
    report = report if report is not None else ReplayReport(conn)
    trids = TridMap()  # recorded -> the live client's
    steps = script(capture, conn)
    report.steps = len(steps)
    try:
        for number, step in enumerate(steps, start=1):
            if step.request is not None:
                expected = record_command(step.request)
                if first is not None:
                    got, first = first, None
                else:
                    with trio.move_on_after(step_timeout) as scope:
                        try:
                            got = await commands.receive()
                        except StreamClosed:
                            report.issues.append(
                                ReplayIssue("closed", number, str(expected), None, "client left")
                            )
                            return report
                    if scope.cancelled_caught:
                        report.issues.append(
                            ReplayIssue("missing", number, str(expected), None, f"{step_timeout}s")
                        )
                        return report
                director.received(step.request)
                want, have = normalize(expected, "c2s", rules), normalize(got, "c2s", rules)
                if want == have:
                    report.matched += 1
                else:
                    report.issues.append(mismatch(number, expected, got, want, have, rules))
                trids.learn(expected.trid, got.trid)
            batch: list[Command] = []
            for reply in step.replies:
                if not director.ready(reply):
                    await send_commands(commands, batch, report)
                    batch = []
                    await director.wait_turn(reply, number, report)
                batch.append(director.outgoing(reply, trids.remap(record_command(reply))))
            await send_commands(commands, batch, report)
        recorded = capture.connections.get(conn)
        if recorded is None or recorded.closed_by in (None, "client"):
            await drain(commands, report, len(steps), step_timeout)  # let the client close first
    except StreamClosed:
        report.issues.append(ReplayIssue("closed", report.steps, None, None, "client left"))
    except MsnpError as exc:
        report.issues.append(ReplayIssue("unexpected", report.steps, None, None, str(exc)))
    finally:
        await commands.aclose()
    return report


async def serve_replay(
    records: Capture | Iterable[Record],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    conn: int | None = None,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    step_timeout: float = DEFAULT_TIMEOUT,
    accelerate: bool | None = None,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> ReplayReport:
    """Listen on ``host:port``, report the bound addresses, replay to the first client.

    ``task_status.started`` receives the bound ``(host, port)`` pairs (port 0 picks one);
    the other arguments are ``replay_as_server``'s.
    """
    capture = as_capture(records)
    conn = choose_connection(capture, conn)
    listeners = await open_listeners(port, host)
    accepted: list[trio.SocketStream] = []
    try:
        task_status.started([each.socket.getsockname()[:2] for each in listeners])

        async with trio.open_nursery() as nursery:

            async def accept(listener: trio.SocketListener) -> None:
                stream = await listener.accept()
                accepted.append(stream)
                nursery.cancel_scope.cancel()

            for listener in listeners:
                nursery.start_soon(accept, listener)
    finally:
        for listener in listeners:
            await listener.aclose()
    client = accepted[0]
    for extra in accepted[1:]:  # pragma: no cover - two listeners accepting at once
        await extra.aclose()
    logger.info("replaying connection %d to %s", conn, client.socket.getpeername())
    return await replay_as_server(
        capture,
        client,
        conn=conn,
        ignore=ignore,
        step_timeout=step_timeout,
        accelerate=accelerate,
    )
