"""msproxy/inspect/session_replay: stand in for the whole recorded server side of a session.

``serve_session_replay`` listens on one address. Every live client connection is routed
to the recorded connection it stands for (``SessionPlan.route``: by switchboard cookie
for switchboards, by first command and recorded order for DS/NS connections) and played
with the per-connection matching of ``replay.play_server_connection``: wait for the
client's command, compare it under the ignore rules, answer with the recorded replies,
TrIDs renumbered to the client's.

On top of that, a whole session needs:

* **Redirects to ourselves.** Every recorded ``XFR NS``, ``XFR SB`` and ``RNG`` is sent
  with its address token replaced by the address the client reached us on (one port for
  everything); nothing else on the line changes.
* **The recorded order across connections.** A recorded server command is sent only once
  every client command recorded *before* it, on any connection, has been read
  (``Sequencer``). So server-initiated commands (``RNG`` on the NS because someone
  called, ``NLN``, ``JOI``, a message relayed from the other client) go out in recorded
  order after the client commands that preceded them, wherever those were. If a client
  command the order waits for does not come within the step timeout, the server command
  is sent anyway and the wait is reported (issue kind ``"order"``).

Known limits (see ``docs/capture-format.md``): a recording with two real clients imposes
the *recorded* interleaving of the two on the replay; live clients that legitimately
interleave differently are held back (up to the step timeout each) or reported. Two
clients whose DS/NS connections start with the same command are told apart only by the
order in which they connect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import trio

from msmgr.codec import Command, Dialect, MsnpError
from msmgr.codec.address import format_address
from msmgr.codec.redirect import find_redirect, replace_token
from msmgr.listeners import open_listeners
from msmgr.stream import CommandStream, Role, StreamClosed
from msproxy.capture import Record, record_command

from .model import Capture, make_capture
from .normalize import DEFAULT_IGNORE
from .replay_report import ReplayIssue, ReplayReport
from .replay_server import Director, play_server_connection
from .replay_wire import DEFAULT_TIMEOUT
from .session_plan import SessionPlan

logger = logging.getLogger(__name__)


class Sequencer:
    """The recorded order across connections: which client commands have been read."""

    def __init__(self, positions: Iterable[int]) -> None:
        self._pending = sorted(positions)
        self._settled: set[int] = set()
        self._low = 0  # index in _pending of the first unsettled position
        self._changed = trio.Event()

    def settle(self, *positions: int) -> None:
        """The client commands recorded at ``positions`` are done with (read, or given up)."""
        self._settled.update(positions)
        low = self._low
        while low < len(self._pending) and self._pending[low] in self._settled:
            low += 1
        if low != self._low:
            self._low = low
            self._changed.set()
            self._changed = trio.Event()

    def blocking(self, position: int) -> int | None:
        """The first unsettled client command recorded before ``position``, or None."""
        if self._low < len(self._pending) and self._pending[self._low] < position:
            return self._pending[self._low]
        return None

    async def wait(self, position: int) -> None:
        """Wait until nothing recorded before ``position`` is pending."""
        while self.blocking(position) is not None:
            await self._changed.wait()

    def give_up(self, position: int) -> int | None:
        """Stop waiting for what is recorded before ``position``; the first such command
        still pending (None if none), so that later waits do not wait for it again."""
        stuck = self.blocking(position)
        self.settle(*(p for p in self._pending[self._low :] if p < position))
        return stuck


@dataclass(slots=True)
class SessionReport:
    """What a whole-session replay did: one ``ReplayReport`` per recorded connection played,
    the recorded connections no client opened, live connections that matched nothing,
    and caveats about what could not be replayed faithfully."""

    addresses: list[tuple[str, int]] = field(default_factory=list)
    connections: dict[int, ReplayReport] = field(default_factory=dict)
    unplayed: list[str] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the whole session replayed as recorded: every recorded connection was
        played without issues, and no live connection was left unmatched."""
        return (
            not self.unplayed
            and not self.strays
            and all(report.ok for report in self.connections.values())
        )

    @property
    def issues(self) -> list[tuple[int, ReplayIssue]]:
        """Every difference, with the recorded connection it was found on."""
        return [
            (conn, issue) for conn, report in self.connections.items() for issue in report.issues
        ]

    def format(self) -> str:
        """A human-readable account: the connections in recorded order, then the rest."""
        played = len(self.connections)
        differences = len(self.issues) + len(self.unplayed) + len(self.strays)
        out = [f"session: {played} connection(s) replayed, {differences} difference(s)"]
        out.extend(
            f"  {line}"
            for c in sorted(self.connections)
            for line in self.connections[c].format().splitlines()
        )
        out.extend(f"  not opened by the client: {name}" for name in self.unplayed)
        out.extend(f"  unexpected connection: {text}" for text in self.strays)
        out.extend(f"  note: {text}" for text in self.notes)
        return "\n".join(out) + "\n"


class _Session:
    """The state shared by every live connection of one whole-session replay."""

    def __init__(
        self,
        capture: Capture,
        report: SessionReport,
        ignore: frozenset[str],
        step_timeout: float,
        done: trio.CancelScope,
        accelerate: bool | None,
    ) -> None:
        self.capture = capture
        self.accelerate = accelerate
        self.plan = SessionPlan(capture)
        self.report = report
        self.ignore = ignore
        self.step_timeout = step_timeout
        self.sequencer = Sequencer(self.plan.client_positions)
        self.claimed: set[int] = set()
        self.finished: set[int] = set()
        self.offered: set[int] = set(self.plan.roots)
        self.active = 0
        self.accepted = 0
        self._changed = trio.Event()
        self._done = done

    def changed(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def watch(self) -> None:
        """End the replay when every recorded connection was played, or when no client
        connection has been open for a step timeout after the first one."""
        while True:
            if self.finished >= set(self.plan.connections):
                self._done.cancel()
                return
            event = self._changed
            if self.active == 0 and self.accepted:
                with trio.move_on_after(self.step_timeout) as idle:
                    await event.wait()
                if idle.cancelled_caught and self.active == 0:
                    self._done.cancel()
                    return
            else:
                await event.wait()

    async def accept(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        while True:
            stream = await listener.accept()
            self.accepted += 1
            self.active += 1
            self.changed()
            nursery.start_soon(self.handle, stream)

    async def handle(self, stream: trio.SocketStream) -> None:
        """Route one live connection and play its recorded counterpart."""
        conn: int | None = None
        try:
            try:
                peer = format_address(*stream.socket.getpeername()[:2])
                local = format_address(*stream.socket.getsockname()[:2])
            except OSError as exc:  # gone already (reset before we looked)
                self.report.strays.append(f"a connection that left at once ({exc})")
                await stream.aclose()
                return
            commands = CommandStream(
                stream, Role.SERVER, dialect=Dialect(), accelerate=self.accelerate
            )
            conn, first = await self._route(commands, peer)
            if conn is None:
                await commands.aclose()
                return
            planned = self.plan.connections[conn]
            logger.info("replaying %s (connection %d) to %s", planned.name, conn, peer)
            report = ReplayReport(conn, name=planned.name)
            self.report.connections[conn] = report
            await play_server_connection(
                self.capture,
                commands,
                conn,
                ignore=self.ignore,
                step_timeout=self.step_timeout,
                first=first,
                director=_Director(self, conn, local),
                report=report,
            )
        finally:
            if conn is not None:
                self.finished.add(conn)
                self.sequencer.settle(
                    *(
                        self.plan.position(r)
                        for r in self.capture.commands(conn)
                        if r.get("dir") == "c2s"
                    )
                )
            self.active -= 1
            self.changed()

    async def _route(self, commands: CommandStream, peer: str) -> tuple[int | None, Command | None]:
        """(the recorded connection, the client's first command if read) or (None, None)."""
        conn = self.plan.first_server_first(self.claimed, self.offered)
        if conn is not None:
            self.claimed.add(conn)
            return conn, None
        first: Command | None = None
        with trio.move_on_after(self.step_timeout):
            try:
                first = await commands.receive()
            except (StreamClosed, MsnpError) as exc:
                self.report.strays.append(f"from {peer}: left before a command ({exc})")
                return None, None
        if first is None:
            self.report.strays.append(f"from {peer}: no command within {self.step_timeout}s")
            return None, None
        conn = self.plan.route(first, self.claimed, self.offered, self.ignore)
        if conn is None:
            self.report.strays.append(
                f"from {peer}: first command {str(first)!r} matches no recorded connection left"
            )
            return None, None
        self.claimed.add(conn)
        return conn, first


class _Director(Director):
    """Orders and rewrites one connection's play within the session."""

    def __init__(self, session: _Session, conn: int, local: str) -> None:
        self.session = session
        self.conn = conn
        self.local = local

    def received(self, record: Record) -> None:
        self.session.sequencer.settle(self.session.plan.position(record))

    def ready(self, record: Record) -> bool:
        return self.session.sequencer.blocking(self.session.plan.position(record)) is None

    async def wait_turn(self, record: Record, step: int, report: ReplayReport) -> None:
        session = self.session
        position = session.plan.position(record)
        with trio.move_on_after(session.step_timeout):
            await session.sequencer.wait(position)
            return
        stuck = session.sequencer.give_up(position)
        if stuck is not None:
            before = session.capture.records[stuck]
            report.issues.append(
                ReplayIssue(
                    "order",
                    step,
                    str(record_command(record)),
                    None,
                    f"sent without waiting any longer for {session.capture.name(before['conn'])}"
                    f" {str(record_command(before))!r}, recorded before it"
                    f" ({session.step_timeout}s)",
                )
            )

    def outgoing(self, record: Record, command: Command) -> Command:
        plan = self.session.plan
        position = plan.position(record)
        if position not in plan.redirects:
            return command
        child = plan.redirects[position]
        if child is not None:
            self.session.offered.add(child)
        return redirect_to(command, self.local)


def redirect_to(command: Command, address: str) -> Command:
    """``command`` (an ``XFR``/``RNG`` redirect) pointing at ``address`` instead.

    Only the address token changes, as the proxy does it; a command that is not a
    redirect is returned as it is.
    """
    info = find_redirect(command)
    if info is None:
        return command
    raw = replace_token(command.to_bytes(), info.token, address.encode("ascii"))
    args = list(command.args)
    args[args.index(info.address)] = address
    return Command(command.verb, command.trid, tuple(args), command.payload, raw=raw)


async def serve_session_replay(
    capture: Capture | Iterable[Record],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    step_timeout: float = DEFAULT_TIMEOUT,
    accelerate: bool | None = None,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> SessionReport:
    """Stand in for the recorded server side of a whole session on ``host:port``.

    ``task_status.started`` receives the bound ``(host, port)`` pairs (port 0 picks
    one). Returns when every recorded connection has been played, or when, after the
    first client connection, none has been open for ``step_timeout`` seconds.
    ``accelerate`` chooses the codec's C accelerator for the live connections
    (``Framer``; None, the default: when it is built).

    Raises:
        ValueError: the capture has no commands.
        OSError: cannot listen.
    """
    capture = capture if isinstance(capture, Capture) else make_capture(capture)
    if next(capture.commands(), None) is None:
        raise ValueError("the capture has no commands to replay")
    report = SessionReport()
    listeners = await open_listeners(port, host)
    try:
        report.addresses = [each.socket.getsockname()[:2] for each in listeners]
        async with trio.open_nursery() as nursery:
            session = _Session(
                capture, report, frozenset(ignore), step_timeout, nursery.cancel_scope, accelerate
            )
            report.notes.extend(_caveats(session.plan))
            task_status.started(report.addresses)
            nursery.start_soon(session.watch)
            for listener in listeners:
                nursery.start_soon(session.accept, listener, nursery)
    finally:
        for listener in listeners:
            await listener.aclose()
    report.unplayed = [
        f"{planned.name} (connection {conn})"
        for conn, planned in session.plan.connections.items()
        if conn not in session.claimed
    ]
    return report


def _caveats(plan: SessionPlan) -> list[str]:
    chains = plan.client_chains()
    if len(chains) < 2:
        return []
    names = ", ".join(f"{plan.connections[c].name} (connection {c})" for c in chains)
    return [
        f"the recording has {len(chains)} independent clients starting at {names}: their "
        "relative timing is replayed as recorded (each server command waits for every "
        "client command recorded before it, on any connection), which live clients may "
        "not follow"
    ]
