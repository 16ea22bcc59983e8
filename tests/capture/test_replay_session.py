"""Whole-session replay as the server: scripted clients that follow the rewritten redirects."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio

from msmgr.codec import Command
from msmgr.codec.redirect import find_redirect
from msmgr.stream import CommandStream, ConnectionClosed, Role
from msproxy.__main__ import main
from msproxy.capture import record_command
from msproxy.demo import run_demo
from msproxy.inspect import Capture, load_capture
from msproxy.inspect.session_plan import SessionPlan, sb_cookie
from msproxy.inspect.session_replay import SessionReport, redirect_to, serve_session_replay

from .conftest import MD5_CHAT, SAMPLE_PATHS

Change = Callable[[int, Command], Command]


@dataclass
class ScriptedClient:
    """Plays the client side of every recorded connection: sends the recorded client
    commands with fresh TrIDs, each after the server commands recorded before it on that
    connection have arrived; opens a connection when the redirect leading to it arrives,
    at the address the redirect names (SB cookies taken from the redirect received)."""

    capture: Capture
    port: int
    change: Change | None = None
    stop_after: int | None = None  # connection after which the client gives up
    log: list[tuple[str, int, Command]] = field(default_factory=list)  # ("send"|"recv", ...)
    positions: dict[int, list[int]] = field(default_factory=dict)  # log index of each record
    trids: itertools.count[int] = field(default_factory=lambda: itertools.count(500))
    _scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    _redirects: dict[tuple[int, str], tuple[trio.Event, list[Command]]] = field(
        default_factory=dict
    )

    def _slot(self, parent: int, key: str) -> tuple[trio.Event, list[Command]]:
        return self._redirects.setdefault((parent, key), (trio.Event(), []))

    async def run(self) -> None:
        conns = [c for c in self.capture.connections if next(self.capture.commands(c), None)]
        async with trio.open_nursery() as nursery:
            self._scope = nursery.cancel_scope
            for conn in conns:
                nursery.start_soon(self.play, conn)

    async def play(self, conn: int) -> None:
        records = list(self.capture.commands(conn))
        parent = self.capture.connections[conn].parent
        first_record = next(r for r in records if r["dir"] == "c2s")
        cookie = sb_cookie(record_command(first_record))
        redirect: Command | None = None
        host, port = "127.0.0.1", self.port
        if parent is not None:
            event, box = self._slot(parent, cookie or "NS")
            await event.wait()
            redirect = box[0]
            info = find_redirect(redirect)
            assert info is not None
            host, _, port_text = info.address.rpartition(":")
            port = int(port_text)
        stream = CommandStream(await connect(host, port), Role.CLIENT)
        positions = [i for i, r in enumerate(self.capture.records) if r in records]
        for record, position in zip(records, positions, strict=True):
            if record["dir"] == "s2c":
                got = await stream.receive()
                self._note("recv", conn, got, position)
                info = find_redirect(got)
                if info is not None:
                    event, box = self._slot(conn, info.cookie or "NS")
                    box.append(got)
                    event.set()
                continue
            command = record_command(record)
            if command.trid is not None:
                command = command.with_trid(next(self.trids))
            if redirect is not None and cookie is not None and record is first_record:
                command = self._answer(command, redirect)
            if self.change is not None:
                command = self.change(conn, command)
            await stream.send(command)
            self._note("send", conn, command, position)
            if conn == self.stop_after:  # the client gives up altogether
                await stream.aclose()
                self._scope.cancel()
                return
        if self.capture.connections[conn].closed_by != "client":
            try:
                while True:
                    self._note("recv", conn, await stream.receive(), None)
            except ConnectionClosed:
                pass
        await stream.aclose()

    @staticmethod
    def _answer(command: Command, redirect: Command) -> Command:
        """The first switchboard command with the cookie (and session id) received."""
        info = find_redirect(redirect)
        assert info is not None
        assert info.cookie is not None
        args = list(command.args)
        args[1] = info.cookie
        if command.verb == "ANS" and info.sessid is not None:
            args[2] = info.sessid
        return Command(command.verb, command.trid, tuple(args), command.payload)

    def _note(self, what: str, conn: int, command: Command, position: int | None) -> None:
        if position is not None:
            self.positions[position] = [len(self.log)]
        self.log.append((what, conn, command))


async def connect(host: str, port: int) -> trio.SocketStream:
    """Connect, retrying while nobody listens yet (a replayer started in another thread)."""
    while True:
        try:
            return await trio.open_tcp_stream(host, port)
        except OSError:
            await trio.sleep(0.05)


async def replay(
    capture: Capture, *, step_timeout: float = 5, **client: object
) -> tuple[SessionReport, ScriptedClient]:
    reports: list[SessionReport] = []
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:

            async def serve(task_status: trio.TaskStatus[list[tuple[str, int]]]) -> None:
                reports.append(
                    await serve_session_replay(
                        capture, step_timeout=step_timeout, task_status=task_status
                    )
                )

            ((host, port),) = await nursery.start(serve)
            assert host == "127.0.0.1"
            scripted = ScriptedClient(capture, port, **client)  # type: ignore[arg-type]
            await scripted.run()
    return reports[0], scripted


def check_faithful(capture: Capture, report: SessionReport, client: ScriptedClient) -> None:
    """Every connection replayed without a difference, redirects to the replayer, TrIDs
    the client's, and every server command received after every client command recorded
    before it (on any connection) was sent."""
    assert report.ok, report.format()
    plan = SessionPlan(capture)
    assert sorted(report.connections) == sorted(plan.connections)
    for conn, conn_report in report.connections.items():
        c2s = [r for r in capture.commands(conn) if r["dir"] == "c2s"]
        s2c = [r for r in capture.commands(conn) if r["dir"] == "s2c"]
        assert conn_report.matched == len(c2s)
        assert conn_report.sent == len(s2c)
        sent_trids = {c.trid for what, n, c in client.log if what == "send" and n == conn}
        received = [c for what, n, c in client.log if what == "recv" and n == conn]
        assert [c.verb for c in received] == [r["cmd"] for r in s2c]
        for command, record in zip(received, s2c, strict=True):
            if command.trid and record["trid"]:  # CHL 0 and friends keep theirs
                assert command.trid in sent_trids, (command, sent_trids)
            info = find_redirect(command)
            if info is not None:
                assert info.address == f"127.0.0.1:{report.addresses[0][1]}"
    last_send = -1
    for position, record in enumerate(capture.records):
        if record.get("type") != "cmd":
            continue
        (index,) = client.positions[position]
        if record["dir"] == "c2s":
            last_send = max(last_send, index)
        else:
            assert index > last_send, f"{record} arrived before a client command recorded earlier"


@pytest.mark.parametrize("path", SAMPLE_PATHS, ids=lambda p: p.name)
async def test_every_sample_replays_as_a_whole_session(path: Path) -> None:
    capture = load_capture(path)
    report, client = await replay(capture)
    check_faithful(capture, report, client)
    assert report.notes == []


async def test_the_rng_waits_for_the_first_switchboard_as_recorded(chat: Capture) -> None:
    report, client = await replay(chat)
    assert report.ok, report.format()
    events = [(what, conn, c.verb) for what, conn, c in client.log]
    # recorded: SB#3 (conn 3) ends with the client's OUT, then bob rings on the NS (conn 2)
    assert events.index(("send", 3, "OUT")) < events.index(("recv", 2, "RNG"))
    assert events.index(("recv", 2, "RNG")) < events.index(("send", 4, "ANS"))
    text = report.format()
    assert text.startswith("session: 4 connection(s) replayed, 0 difference(s)\n")
    assert "  connection 3 (SB#3): 5 steps, 5 commands matched, 7 sent, 0 difference(s)\n" in text


async def test_the_demo_session_with_two_clients(tmp_path: Path) -> None:
    path = tmp_path / "demo.jsonl"
    await run_demo(path)
    capture = load_capture(path)
    plan = SessionPlan(capture)
    assert len(plan.client_chains()) == 2  # bob and alice each start at a DS
    report, client = await replay(capture)
    check_faithful(capture, report, client)
    assert any("2 independent clients" in note for note in report.notes)
    names = [capture.name(conn) for conn in sorted(report.connections)]
    assert names == ["DS#1", "NS#2", "DS#3", "NS#4", "SB#5", "SB#6"]


async def test_a_client_that_says_something_else(chat: Capture) -> None:
    def rob(conn: int, command: Command) -> Command:
        if command.verb == "MSG" and command.payload and b"Hello Bob" in command.payload:
            payload = command.payload.replace(b"Hello Bob", b"Hello Rob")
            return Command(command.verb, command.trid, command.args, payload)
        return command

    report, _ = await replay(chat, change=rob)
    assert not report.ok
    ((conn, issue),) = report.issues
    assert (conn, report.connections[conn].name) == (3, "SB#3")
    assert (issue.kind, issue.step) == ("mismatch", 4)
    assert issue.detail == "payload lines '-Hello Bob, café?' '+Hello Rob, café?'"
    assert "mismatch" in report.format()


async def test_connections_the_client_never_opens_are_reported(chat: Capture) -> None:
    report, _ = await replay(chat, step_timeout=0.5, stop_after=1)  # leaves after the DS
    assert not report.ok
    assert report.unplayed == ["NS#2 (connection 2)", "SB#3 (connection 3)", "SB#4 (connection 4)"]
    assert list(report.connections) == [1]
    assert "not opened by the client: NS#2 (connection 2)" in report.format()


async def test_a_connection_matching_nothing_is_a_stray(chat: Capture) -> None:
    reports: list[SessionReport] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def serve(task_status: trio.TaskStatus[list[tuple[str, int]]]) -> None:
                reports.append(
                    await serve_session_replay(chat, step_timeout=0.5, task_status=task_status)
                )

            ((_, port),) = await nursery.start(serve)
            stream = CommandStream(await trio.open_tcp_stream("127.0.0.1", port), Role.CLIENT)
            await stream.send(Command("USR", 1, ("alice@example.com", "no.such.cookie")))
            await stream.aclose()
            for trid in (2, 3):
                other = CommandStream(await trio.open_tcp_stream("127.0.0.1", port), Role.CLIENT)
                await other.send(Command("USR", trid, ("alice@example.com", "x")))
                await other.aclose()
    (report,) = reports
    # no cookie matches: the first switchboard (a USR, as sent: it matches, then the client
    # leaves), then the second (recorded: ANS), then nothing is left
    assert sorted(report.connections) == [3, 4]
    assert report.connections[3].issues[-1].kind == "closed"
    # the replies were recorded after DS and NS commands, which never came: the first
    # switchboard to give up waiting for them says so (which one depends on timing)
    orders = [issue.detail for _, issue in report.issues if issue.kind == "order"]
    assert any("waiting any longer for DS#1 'VER 1 MSNP2 CVR0'" in o for o in orders), orders
    assert report.connections[4].issues[0].kind == "mismatch"
    assert "verb USR instead of ANS" in report.connections[4].issues[0].detail
    assert report.unplayed == ["DS#1 (connection 1)", "NS#2 (connection 2)"]
    (stray,) = report.strays
    assert "'USR 3 alice@example.com x' matches no recorded connection left" in stray
    assert not report.ok


def test_redirect_to_rewrites_only_the_address() -> None:
    xfr = record_command(
        {
            "type": "cmd",
            "conn": 1,
            "dir": "s2c",
            "cmd": "XFR",
            "trid": 3,
            "args": ["NS", "10.0.0.1:1863", "0", "10.0.0.2:1863"],
            "line": "XFR 3 NS 10.0.0.1:1863 0 10.0.0.2:1863\n",
        }
    )
    moved = redirect_to(xfr, "127.0.0.1:4000")
    assert moved.to_bytes() == b"XFR 3 NS 127.0.0.1:4000 0 10.0.0.2:1863\n"
    assert moved.args == ("NS", "127.0.0.1:4000", "0", "10.0.0.2:1863")
    rng = Command("RNG", None, ("1", "10.0.0.1:1865", "CKI", "c.1", "bob@x", "Bob"))
    assert redirect_to(rng, "[::1]:9").to_bytes() == b"RNG 1 [::1]:9 CKI c.1 bob@x Bob\r\n"
    assert redirect_to(Command("XFR", 3, ("NS", "0")), "a:1") == Command("XFR", 3, ("NS", "0"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("deviate", [False, True])
def test_cli_whole_session(capsys: pytest.CaptureFixture[str], deviate: bool) -> None:
    port = free_port()
    status: list[int] = []
    argv = ["replay", str(MD5_CHAT), "--as-server", "--listen", f"127.0.0.1:{port}"]
    thread = threading.Thread(target=lambda: status.append(main([*argv, "--timeout", "5"])))
    thread.start()
    capture = load_capture(MD5_CHAT)

    def change(conn: int, command: Command) -> Command:
        return (
            Command("CAL", command.trid, ("dave@example.com",))
            if command.verb == "CAL"
            else command
        )

    async def client() -> None:
        with trio.fail_after(15):
            await ScriptedClient(capture, port, change=change if deviate else None).run()

    trio.run(client)
    thread.join(timeout=15)
    assert status == [1 if deviate else 0]
    out = capsys.readouterr().out
    assert out.startswith(
        f"replaying the whole session (4 connections) as the server on 127.0.0.1:{port}\n"
        f"session: 4 connection(s) replayed, {2 if deviate else 0} difference(s)\n"
    )
    if deviate:
        assert "connection 3 (SB#3): 5 steps, 3 commands matched" in out
        assert "argument 1 is 'dave@example.com', not 'bob@example.com'" in out
