"""How the server meets protocol errors: the client's (RemoteProtocolError) are answered
with their error code hint, when there is one, and end that connection only; its own
(LocalProtocolError: it built a command that cannot be sent) are internal errors."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from msmgr.codec import Command
from msmgr.server import ServerAddresses, ServerState, formats
from msmgr.stream import StreamClosed

from .helpers import ScriptedClient, hello


async def everything_until_closed(client: ScriptedClient) -> list[Command]:
    received: list[Command] = []
    try:
        while True:
            received.append(await client.recv())
    except StreamClosed:
        return received


async def test_a_line_over_the_limit_is_answered_200_and_closes(
    reference_server: ServerAddresses,
) -> None:
    with trio.fail_after(10):
        bad = await ScriptedClient.connect(reference_server.ns)
        await hello(bad, 9)
        await bad.send_line(b"USR 5 TWN I " + b"x" * 20000)  # no line end within 16 KiB
        assert (await bad.expect("200")).trid == 0
        assert await bad.closed()


async def test_a_command_cut_by_the_end_of_the_stream_gets_no_answer(
    reference_server: ServerAddresses,
) -> None:
    with trio.fail_after(10):
        cut = await ScriptedClient.connect(reference_server.ns)
        await hello(cut, 9)
        await cut.send_line(b"MSG 5 N 10\r\nabc")
        stream = cut.commands.stream
        assert isinstance(stream, trio.SocketStream)
        await stream.send_eof()
        assert await everything_until_closed(cut) == []  # no "200 0" first


async def test_a_command_the_server_cannot_send_is_an_internal_error(
    reference_server: ServerAddresses,
    reference_state: ServerState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(formats, "qng", lambda version: Command("QNG", None, ("5 0",)))
    with trio.fail_after(10):
        ds = await ScriptedClient.connect(reference_server.ds)
        await hello(ds, 9)
        await ds.send_line(b"PNG\r\n")
        assert await ds.closed()
        await trio.testing.wait_all_tasks_blocked()  # the server's handler has ended too
    assert reference_state.internal_errors == 1
    reference_state.internal_errors = 0  # (the fixture checks that none was left)
