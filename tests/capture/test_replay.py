"""Replay: as the server against a client script, as the client against a scripted server."""

from __future__ import annotations

import trio
import trio.testing

from msmgr.codec import Command
from msmgr.stream import CommandStream, Role
from msproxy.capture import record_command
from msproxy.inspect import Capture
from msproxy.inspect.replay import (
    ReplayReport,
    replay_as_client,
    replay_as_server,
    script,
    serve_replay,
)


async def connect(port: int) -> CommandStream:
    return CommandStream(await trio.open_tcp_stream("127.0.0.1", port), Role.CLIENT)


async def test_as_server_answers_with_the_clients_trids(chat: Capture) -> None:
    """SB#1 of the sample, driven by a client whose TrIDs start at 51."""
    received: list[bytes] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            reports: list[ReplayReport] = []

            async def serve(task_status: trio.TaskStatus[list[tuple[str, int]]]) -> None:
                reports.append(
                    await serve_replay(chat, conn=3, step_timeout=5, task_status=task_status)
                )

            ((host, port),) = await nursery.start(serve)
            assert host == "127.0.0.1"
            client = await connect(port)

            async def expect(n: int) -> None:
                received.extend([(await client.receive()).to_bytes() for _ in range(n)])

            await client.send(Command("USR", 51, ("alice@example.com", "cookie.from.another.run")))
            await expect(1)
            await client.send(Command("CAL", 52, ("bob@example.com",)))
            await expect(2)
            await client.send(Command("CAL", 53, ("carol@example.com",)))
            await expect(1)
            hello = record_command(next(r for r in chat.commands(3) if r["cmd"] == "MSG"))
            await client.send(hello.with_trid(54))
            await expect(3)
            await client.send(Command("OUT"))
            await client.aclose()
    (report,) = reports
    assert report.ok, report.format()
    assert report.matched == 5
    assert report.sent == 7
    assert received[:4] == [
        b"USR 51 OK alice@example.com Alice\r\n",
        b"CAL 52 RINGING 11752013\r\n",
        b"JOI bob@example.com Bob\r\n",
        b"217 53\r\n",
    ]
    assert received[4].startswith(b"MSG bob@example.com Bob 88\r\n")


async def test_as_server_reports_a_mismatch(chat: Capture) -> None:
    left, right = trio.testing.memory_stream_pair()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            reports: list[ReplayReport] = []

            async def serve() -> None:
                reports.append(await replay_as_server(chat, left, conn=3, step_timeout=1))

            nursery.start_soon(serve)
            client = CommandStream(right, Role.CLIENT)
            await client.send(Command("USR", 1, ("alice@example.com", "x")))
            await client.receive()
            await client.send(Command("CAL", 2, ("dave@example.com",)))
            await client.aclose()
    (report,) = reports
    assert not report.ok
    kinds = [issue.kind for issue in report.issues]
    assert kinds[0] == "mismatch"
    assert "argument 1 is 'dave@example.com', not 'bob@example.com'" in report.issues[0].detail
    assert kinds[-1] == "closed"
    assert "mismatch" in report.format()


async def test_as_client_renumbers_trids_and_matches_a_scripted_server(chat: Capture) -> None:
    """SB#1 against a hand-written server that answers like a real switchboard."""
    seen: list[Command] = []

    async def server(stream: trio.abc.Stream) -> None:
        sb = CommandStream(stream, Role.SERVER)
        while True:
            command = await sb.receive()
            seen.append(command)
            t = command.trid
            if command.verb == "USR":
                await sb.send(Command("USR", t, ("OK", "alice@example.com", "Alice")))
            elif command.verb == "CAL" and command.args == ("bob@example.com",):
                await sb.send(Command("CAL", t, ("RINGING", "999")))
                await sb.send(Command("JOI", None, ("bob@example.com", "Bob")))
            elif command.verb == "CAL":
                await sb.send(Command("217", t))
            elif command.verb == "MSG":
                for record in [r for r in chat.commands(3) if r["dir"] == "s2c"][-3:]:
                    await sb.send(record_command(record))
            elif command.verb == "OUT":
                break
        await sb.aclose()

    left, right = trio.testing.memory_stream_pair()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server, left)
            report = await replay_as_client(chat, right, conn=3, step_timeout=2)
    assert report.ok, report.format()
    assert [c.trid for c in seen] == [1, 2, 3, 4, None]
    assert [c.verb for c in seen] == ["USR", "CAL", "CAL", "MSG", "OUT"]
    assert report.matched == 7


async def test_as_client_reports_missing_and_different_replies(chat: Capture) -> None:
    async def server(stream: trio.abc.Stream) -> None:
        sb = CommandStream(stream, Role.SERVER)
        command = await sb.receive()
        await sb.send(Command("USR", command.trid, ("OK", "alice@example.com", "Alicia")))
        command = await sb.receive()
        await sb.send(Command("NLN", None, ("NLN", "x@example.com", "X")))  # not recorded
        await trio.sleep_forever()

    left, right = trio.testing.memory_stream_pair()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server, left)
            report = await replay_as_client(chat, right, conn=3, step_timeout=0.2)
            nursery.cancel_scope.cancel()
    kinds = [(issue.step, issue.kind) for issue in report.issues]
    assert kinds[0] == (1, "mismatch")
    assert "argument 3 is 'Alicia', not 'Alice'" in report.issues[0].detail
    assert (2, "missing") in kinds
    assert ("unexpected", "NLN NLN x@example.com X") in [
        (issue.kind, issue.got) for issue in report.issues
    ]


async def test_client_replay_against_server_replay_for_every_connection(
    chat: Capture, twn: Capture
) -> None:
    """Both halves of the replay agree with each other on every recorded connection."""
    for capture in (chat, twn):
        for conn in capture.connections:
            left, right = trio.testing.memory_stream_pair()
            with trio.fail_after(10):
                async with trio.open_nursery() as nursery:
                    reports: list[ReplayReport] = []

                    async def serve(
                        capture: Capture,
                        conn: int,
                        stream: trio.abc.Stream,
                        out: list[ReplayReport],
                    ) -> None:
                        out.append(
                            await replay_as_server(capture, stream, conn=conn, step_timeout=2)
                        )

                    nursery.start_soon(serve, capture, conn, left, reports)
                    client_report = await replay_as_client(
                        capture, right, conn=conn, step_timeout=2
                    )
            assert client_report.ok, client_report.format()
            assert reports[0].ok, reports[0].format()
            replies = sum(len(step.replies) for step in script(capture, conn))
            assert client_report.matched == replies
            assert reports[0].sent == replies


async def test_closed_server_is_reported(chat: Capture) -> None:
    async def server(stream: trio.abc.Stream) -> None:
        await CommandStream(stream, Role.SERVER).receive()
        await stream.aclose()

    left, right = trio.testing.memory_stream_pair()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server, left)
            report = await replay_as_client(chat, right, conn=1, step_timeout=2)
    assert report.issues[0].kind == "missing"
    assert report.issues[0].detail == "connection closed"
    assert {issue.kind for issue in report.issues[1:]} == {"closed"}
