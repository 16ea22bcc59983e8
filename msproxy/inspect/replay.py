"""msproxy/inspect/replay: play one recorded connection back, as the server or as the client.

A recorded connection is cut into steps: each client command with the server commands
that followed it, up to the next client command (``script``).

* ``replay_as_server``: we stand in for the server. For each step we wait for the live
  client to send a command matching the recorded one (verb and arguments, volatile fields
  ignored, see ``normalize``), then send the recorded replies with their TrIDs renumbered
  to the client's actual TrIDs.
* ``replay_as_client``: we re-drive a server. We send the recorded client commands with
  TrIDs renumbered from 1 and wait (up to ``step_timeout`` per step) for the recorded replies,
  matched by verb, TrID and arguments (volatile fields ignored) in any order; a reply
  that arrives early is kept for a later step.

Both return a ``ReplayReport``; ``ReplayReport.ok`` is True when nothing differed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import trio

from msmgr.codec import Command, Dialect, MsnpError, parse_version
from msmgr.codec.transactions import TridMap
from msmgr.stream import CommandStream, Role, StreamClosed
from msproxy.capture import Record, record_command

from .model import Capture, make_capture
from .normalize import DEFAULT_IGNORE, Normalized, normalize
from .payload_diff import payload_diff

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Step:
    """A recorded client command (None before the first one) and the server commands after it."""

    request: Record | None
    replies: list[Record]


@dataclass(frozen=True, slots=True)
class ReplayIssue:
    """One difference between the recording and the live peer.

    ``kind`` is ``"mismatch"`` (a command differs), ``"missing"`` (an expected command
    never came), ``"unexpected"`` (a command the recording does not have) or
    ``"closed"`` (the peer closed the connection early).
    """

    kind: str
    step: int
    expected: str | None
    got: str | None
    detail: str = ""

    def __str__(self) -> str:
        parts = [f"step {self.step}: {self.kind}"]
        if self.expected is not None:
            parts.append(f"expected {self.expected!r}")
        if self.got is not None:
            parts.append(f"got {self.got!r}")
        text = ", ".join(parts)
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(slots=True)
class ReplayReport:
    """What a replay did: the connection, commands matched and sent, every difference."""

    conn: int
    steps: int = 0
    matched: int = 0
    sent: int = 0
    issues: list[ReplayIssue] = field(default_factory=list)
    name: str | None = None  # the recorded connection's name (DS#1, SB#5...), if shown

    @property
    def ok(self) -> bool:
        """Whether the replay went as recorded: no issues."""
        return not self.issues

    def format(self) -> str:
        """A human-readable account, one issue per line."""
        label = f"connection {self.conn}" + (f" ({self.name})" if self.name else "")
        head = (
            f"{label}: {self.steps} steps, {self.matched} commands matched, "
            f"{self.sent} sent, {len(self.issues)} difference(s)"
        )
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)]) + "\n"


def _capture(records: Capture | Iterable[Record]) -> Capture:
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
    for record in _capture(records).commands(conn):
        if record.get("dir") == "c2s":
            steps.append(Step(record, []))
        else:
            steps[-1].replies.append(record)
    return steps if steps[0].replies else steps[1:]


def _text(command: Command) -> str:
    return str(command)


def explain(
    expected: Normalized,
    got: Normalized,
    commands: tuple[Command, Command] | None = None,
    rules: Iterable[str] = DEFAULT_IGNORE,
) -> str:
    """Which fields of two normalised commands differ, in words.

    With the original ``commands`` (expected, got), a differing text payload is told by
    its changed lines.
    """
    if expected.verb != got.verb:
        return f"verb {got.verb} instead of {expected.verb}"
    notes = []
    if expected.trid != got.trid:
        notes.append(f"TrID {got.trid} instead of {expected.trid}")
    if len(expected.args) != len(got.args):
        notes.append(f"{len(got.args)} arguments instead of {len(expected.args)}")
    else:
        for index, (want, have) in enumerate(zip(expected.args, got.args, strict=True)):
            if want != have:
                notes.append(f"argument {index + 1} is {have!r}, not {want!r}")
    if expected.payload != got.payload:
        note = f"payload [{got.payload}] instead of [{expected.payload}]"
        if commands is not None:
            old, new = commands[0].payload, commands[1].payload
            lines = payload_diff(old, new, rules, 0) if old and new else None
            changed = [line for line in lines or () if line[:1] in "-+"]
            if changed:
                note = "payload lines " + " ".join(repr(line) for line in changed)
        notes.append(note)
    return "; ".join(notes) or "differs"


def _mismatch(
    step: int,
    expected: Command,
    got: Command,
    want: Normalized,
    have: Normalized,
    rules: frozenset[str],
) -> ReplayIssue:
    """A ``mismatch`` issue: ``got`` (normalised ``have``) came for ``expected`` (``want``)."""
    return ReplayIssue(
        "mismatch", step, _text(expected), _text(got), explain(want, have, (expected, got), rules)
    )


async def _send(stream: CommandStream, commands: list[Command], report: ReplayReport) -> None:
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
) -> ReplayReport:
    """Answer the live client on ``stream`` as the recorded server did.

    Args:
        records: the capture.
        stream: the accepted client connection (closed on return).
        conn: the recorded connection to play (default: the first with commands).
        ignore: fields ignored when matching the client's commands (TrIDs always are).
        step_timeout: seconds to wait for each client command.
    """
    capture = _capture(records)
    conn = choose_connection(capture, conn)
    commands = CommandStream(stream, Role.SERVER, dialect=Dialect())
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
                                ReplayIssue("closed", number, _text(expected), None, "client left")
                            )
                            return report
                    if scope.cancelled_caught:
                        report.issues.append(
                            ReplayIssue(
                                "missing", number, _text(expected), None, f"{step_timeout}s"
                            )
                        )
                        return report
                director.received(step.request)
                want, have = normalize(expected, "c2s", rules), normalize(got, "c2s", rules)
                if want == have:
                    report.matched += 1
                else:
                    report.issues.append(_mismatch(number, expected, got, want, have, rules))
                trids.learn(expected.trid, got.trid)
            batch: list[Command] = []
            for reply in step.replies:
                if not director.ready(reply):
                    await _send(commands, batch, report)
                    batch = []
                    await director.wait_turn(reply, number, report)
                batch.append(director.outgoing(reply, trids.remap(record_command(reply))))
            await _send(commands, batch, report)
        recorded = capture.connections.get(conn)
        if recorded is None or recorded.closed_by in (None, "client"):
            await _drain(commands, report, len(steps), step_timeout)  # let the client close first
    except StreamClosed:
        report.issues.append(ReplayIssue("closed", report.steps, None, None, "client left"))
    except MsnpError as exc:
        report.issues.append(ReplayIssue("unexpected", report.steps, None, None, str(exc)))
    finally:
        await commands.aclose()
    return report


async def _drain(commands: CommandStream, report: ReplayReport, step: int, wait: float) -> None:
    """After the last step: anything more the peer sends is unexpected, until it closes."""
    with trio.move_on_after(wait):
        while True:
            try:
                extra = await commands.receive()
            except StreamClosed:
                return
            report.issues.append(ReplayIssue("unexpected", step, None, _text(extra)))


async def replay_as_client(
    records: Capture | Iterable[Record],
    stream: trio.abc.Stream,
    *,
    conn: int | None = None,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    step_timeout: float = DEFAULT_TIMEOUT,
) -> ReplayReport:
    """Re-drive a server on ``stream`` with the recorded client commands.

    Args:
        records: the capture.
        stream: a connection to the server (closed on return).
        conn: the recorded connection to play (default: the first with commands).
        ignore: fields ignored when comparing replies (TrIDs are renumbered, then compared).
        step_timeout: seconds to wait for the replies of each step.
    """
    capture = _capture(records)
    conn = choose_connection(capture, conn)
    rules = frozenset(ignore) - {"trid"}
    report = ReplayReport(conn)
    commands = CommandStream(stream, Role.CLIENT, dialect=Dialect())
    trids = TridMap()  # recorded -> ours, numbered from 1
    backlog: list[Command] = []
    steps = script(capture, conn)
    report.steps = len(steps)
    try:
        for number, step in enumerate(steps, start=1):
            if step.request is not None:
                request = record_command(step.request)
                trids.assign(request.trid)
                await _send(commands, [trids.remap(request)], report)
            pending = [trids.remap(record_command(r)) for r in step.replies]
            if not await _collect(commands, pending, backlog, rules, number, report, step_timeout):
                report.issues.extend(
                    ReplayIssue("closed", n, None, None, "server closed the connection")
                    for n in range(number + 1, len(steps) + 1)
                )
                break
        else:
            with trio.move_on_after(0):  # replies already buffered count as unexpected
                await _drain(commands, report, len(steps), math.inf)
    finally:
        await commands.aclose()
    report.issues.extend(
        ReplayIssue("unexpected", report.steps, None, _text(extra)) for extra in backlog
    )
    return report


async def _collect(
    commands: CommandStream,
    pending: list[Command],
    backlog: list[Command],
    rules: frozenset[str],
    number: int,
    report: ReplayReport,
    step_timeout: float,
) -> bool:
    """Match the expected replies of one step; False when the server closed."""
    wanted = [(command, normalize(command, "s2c", rules)) for command in pending]

    def take(got: Command) -> bool:
        have = normalize(got, "s2c", rules)
        for index, (_, want) in enumerate(wanted):
            if want == have:
                del wanted[index]
                report.matched += 1
                return True
        for index, (expected, want) in enumerate(wanted):
            if want.verb == have.verb and want.trid == have.trid:
                del wanted[index]
                report.issues.append(_mismatch(number, expected, got, want, have, rules))
                return True
        return False

    backlog[:] = [got for got in backlog if not take(got)]
    alive = True
    with trio.move_on_after(step_timeout):
        while wanted:
            try:
                got = await commands.receive()
            except StreamClosed:
                alive = False
                break
            if not take(got):
                backlog.append(got)
    report.issues.extend(
        ReplayIssue(
            "missing",
            number,
            _text(expected),
            None,
            "connection closed" if not alive else f"not received within {step_timeout}s",
        )
        for expected, _ in wanted
    )
    return alive


async def serve_replay(
    records: Capture | Iterable[Record],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    conn: int | None = None,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    step_timeout: float = DEFAULT_TIMEOUT,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> ReplayReport:
    """Listen on ``host:port``, report the bound addresses, replay to the first client.

    ``task_status.started`` receives the bound ``(host, port)`` pairs (port 0 picks one).
    """
    capture = _capture(records)
    conn = choose_connection(capture, conn)
    listeners = await trio.open_tcp_listeners(port, host=host)
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
        capture, client, conn=conn, ignore=ignore, step_timeout=step_timeout
    )
