"""Logging out closes cleanly: the server sees an end of stream, never a reset.

After ``OUT`` a server may still send (its own ``OUT``, last notifications). A client
that closed its socket at once would leave those unread, and the kernel answers unread
data with a reset ("connection reset by peer"). The scripted servers here send such
lines, half-close, and record what they read next: ``b""`` (a clean close) or an error.
"""

from __future__ import annotations

from typing import Any

import trio

from msmgr.client import Session
from msmgr.client.errors import describe
from msmgr.stream import ConnectionClosed

from .scripted import ALICE, ALICE_PW, Peer, serve, serve_ns_and_sb

BOB = "bob@example.com"


async def answer_out(peer: Peer, lines: list[str], verdicts: list[str]) -> None:
    """After the client's OUT: send ``lines``, half-close, and judge how the client closed."""
    await peer.expect("OUT")
    try:
        for line in lines:
            await peer.send_line(line)
        await trio.sleep(0.05)  # room for a reset to arrive, if the client caused one
        await peer.cs.stream.send_eof()  # type: ignore[attr-defined]
        data = await peer.cs.stream.receive_some(65536)
    except (trio.BrokenResourceError, ConnectionClosed) as exc:
        verdicts.append(describe(exc))
    else:
        verdicts.append("clean EOF" if data == b"" else f"more data: {bytes(data)!r}")


async def test_logout_reads_until_the_server_closes(nursery: trio.Nursery) -> None:
    verdicts: list[str] = []
    last_pushes = [f"NLN NLN user{i}@example.com User{i}" for i in range(50)]

    async def script(peer: Peer) -> None:
        await peer.md5_login("MSNP7")
        await answer_out(peer, ["OUT", *last_pushes], verdicts)

    address = await serve(nursery, script)
    closes: list[Any] = []
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            session.add_handler(closes.append, "close")
            await session.login()
        while not verdicts:  # noqa: ASYNC110 - the server script reports after our close
            await trio.sleep(0.01)
    assert verdicts == ["clean EOF"]
    assert "user49@example.com" in session.roster  # the last push was read and dispatched
    assert closes == []  # we asked for the close: no "close" event
    assert session.close_reason is None  # the server's OUT answers ours: not "logged out"


async def test_conversation_shutdown_reads_until_the_switchboard_closes(
    nursery: trio.Nursery,
) -> None:
    verdicts: list[str] = []

    async def sb(peer: Peer) -> None:
        usr = await peer.expect("USR")
        await peer.reply(usr, "OK", ALICE, "Alice")
        await peer.send("JOI", None, BOB, "Bob")
        await answer_out(
            peer, [f"BYE {BOB}", *(f"JOI user{i}@x.com U" for i in range(50))], verdicts
        )

    address = await serve_ns_and_sb(nursery, sb)
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            await session.login()
            conversation = await session.new_conversation()
            await conversation.wait_for(BOB)
            await conversation.shutdown()
            assert conversation.switchboard is not None
            assert conversation.switchboard.closed
            assert not conversation.connected
            while not verdicts:  # noqa: ASYNC110 - the server script reports after our close
                await trio.sleep(0.01)
    assert verdicts == ["clean EOF"]
