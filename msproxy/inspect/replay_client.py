"""msproxy/inspect/replay_client: re-drive a server with one recorded connection's commands.

We send the recorded client commands with TrIDs renumbered from 1 and wait (up to
``step_timeout`` per step) for the recorded replies, matched by verb, TrID and arguments
(volatile fields ignored) in any order; a reply that arrives early is kept for a later
step. With the account's ``password``, the login answer is computed live
(``replay_login``), so a redacted capture logs in; the ``QRY`` answer to the server's
``CHL`` challenge always is (the recorded one was for another challenge).

An error reply (``911``, ``500``...) to the step's request that the recording does not
have stops the replay at that step: every later step depends on it (a refused login
leaves nothing to re-drive), so it is reported there, once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import trio

from msmgr.client.errors import ClientError
from msmgr.client.passport import DEFAULT_NEXUS
from msmgr.codec import Command, Dialect
from msmgr.codec.transactions import TridMap
from msmgr.stream import CommandStream, Role, StreamClosed
from msproxy.capture import Record, record_command

from .model import Capture
from .normalize import DEFAULT_IGNORE, normalize
from .replay_login import LiveChallenge, LiveLogin, LoginError
from .replay_report import ReplayIssue, ReplayReport, mismatch
from .replay_script import as_capture, choose_connection, script
from .replay_wire import DEFAULT_TIMEOUT, drain, send_commands


async def replay_as_client(
    records: Capture | Iterable[Record],
    stream: trio.abc.Stream,
    *,
    conn: int | None = None,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    step_timeout: float = DEFAULT_TIMEOUT,
    accelerate: bool | None = None,
    password: str | None = None,
    nexus_url: str = DEFAULT_NEXUS,
) -> ReplayReport:
    """Re-drive a server on ``stream`` (a connection to it, closed on return) with the
    recorded client commands of ``records``' connection ``conn``.

    The arguments are ``replay_as_server``'s, except that ``ignore`` applies to the
    server's replies (TrIDs are renumbered, then compared) and ``step_timeout`` is the
    wait for the replies of each step. ``password``: the account's, to answer the live
    server's login challenge (MD5 hash, or a Passport ticket from ``nexus_url``)
    instead of sending the recorded (redacted) answer.
    """
    capture = as_capture(records)
    conn = choose_connection(capture, conn)
    rules = frozenset(ignore) - {"trid"}
    report = ReplayReport(conn)
    commands = CommandStream(stream, Role.CLIENT, dialect=Dialect(), accelerate=accelerate)
    trids = TridMap()  # recorded -> ours, numbered from 1
    backlog: list[Command] = []
    steps = script(capture, conn)
    report.steps = len(steps)
    login = LiveLogin(password, nexus_url) if password is not None else None
    challenge = LiveChallenge()
    try:
        for number, step in enumerate(steps, start=1):
            sent: Command | None = None
            if step.request is not None:
                request = record_command(step.request)
                trids.assign(request.trid)
                sent = await _request(trids.remap(request), login, number, report)
                if sent is None:
                    break
                sent = challenge.answer(sent)
                await send_commands(commands, [sent], report)
            pending = [trids.remap(record_command(r)) for r in step.replies]
            status = await _collect(
                commands,
                pending,
                backlog,
                rules,
                number,
                report,
                step_timeout,
                sent,
                (login, challenge),
            )
            if status == "closed":
                report.issues.extend(
                    ReplayIssue("closed", n, None, None, "server closed the connection")
                    for n in range(number + 1, len(steps) + 1)
                )
            if status != "ok":
                break
        else:
            with trio.move_on_after(0):  # replies already buffered count as unexpected
                await drain(commands, report, len(steps), math.inf)
    finally:
        await commands.aclose()
    report.issues.extend(
        ReplayIssue("unexpected", report.steps, None, str(extra)) for extra in backlog
    )
    return report


async def _request(
    request: Command, login: LiveLogin | None, number: int, report: ReplayReport
) -> Command | None:
    """The request to send for a step (the login answer computed live when we have the
    password), or None after reporting why the replay cannot go on."""
    if login is None:
        return request
    login.saw_sent(request)
    if not login.answers(request):
        return request
    try:
        return await login.answer(request)
    except (LoginError, ClientError) as exc:
        report.issues.append(ReplayIssue("login", number, str(request), None, str(exc)))
        return None


async def _collect(
    commands: CommandStream,
    pending: list[Command],
    backlog: list[Command],
    rules: frozenset[str],
    number: int,
    report: ReplayReport,
    step_timeout: float,
    request: Command | None = None,
    watchers: tuple[LiveLogin | None, LiveChallenge] | None = None,
) -> str:
    """Match the expected replies of one step: ``"ok"``, ``"closed"`` when the server
    closed, ``"error"`` when it answered the request with an unexpected error."""
    wanted = [(command, normalize(command, "s2c", rules)) for command in pending]

    def refused(got: Command) -> bool:
        """An error reply to this step's request that the recording does not have."""
        return (
            request is not None
            and got.is_error
            and got.trid == request.trid
            and not any(w.verb == got.verb for _, w in wanted)
        )

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
                report.issues.append(mismatch(number, expected, got, want, have, rules))
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
            for watcher in watchers or ():
                if watcher is not None:
                    watcher.saw_received(got)
            if refused(got):
                expected = ", ".join(str(c) for c, _ in wanted)
                report.issues.append(
                    ReplayIssue(
                        "error", number, expected, str(got), "error reply: the replay stopped here"
                    )
                )
                return "error"
            if not take(got):
                backlog.append(got)
    report.issues.extend(
        ReplayIssue(
            "missing",
            number,
            str(expected),
            None,
            "connection closed" if not alive else f"not received within {step_timeout}s",
        )
        for expected, _ in wanted
    )
    return "ok" if alive else "closed"
