"""One task reads and dispatches; writes go in call order under the stream's lock.

Sends that do not wait (``send``), requests and ``flush`` share one queue, so the server
reads them in the order they were made; a posted pseudo event wakes an idle reader;
a server that stops reading costs a bounded wait, not a hang.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from msmgr.client import Connection, RequestTimeout, Session, make
from msmgr.codec import Command

from .scripted import ALICE, ALICE_PW, Peer, serve, until


async def test_sends_and_requests_reach_the_server_in_call_order(nursery: trio.Nursery) -> None:
    seen: list[str] = []

    async def script(peer: Peer) -> None:
        for _ in range(4):
            command = await peer.expect(("PNG", "CHG", "PRP", "SYN")[len(seen)])
            seen.append(command.line)
            if command.verb == "SYN":
                await peer.reply(command, "7")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW) as session:
            conn = await Connection(session, *address, name="Test").connect()
            conn.send(Command("PNG"))
            conn.send(make("CHG", "NLN"))
            conn.send(make("PRP", "MFN", "Alice"))
            reply = await conn.request(make("SYN", "0"))
            await conn.close()
    assert seen == ["PNG", "CHG 1 NLN", "PRP 2 MFN Alice", "SYN 3 0"]
    assert reply.line == "SYN 3 7"


async def test_a_posted_event_wakes_the_idle_reader(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.send("NLN", None, "NLN", "bob@example.com", "Bob")
        await peer.expect("OUT")

    address = await serve(nursery, script)
    order: list[str] = []
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW) as session:
            conn = Connection(session, *address, name="Test")
            conn.add_handler(lambda c: order.append(c.verb), "NLN", "hello")
            await conn.connect()
            while not order:  # noqa: ASYNC110 - the NLN handler has run: the reader is idle
                await trio.sleep(0.01)
            await conn.post(Command.make_pseudo("hello"))  # wakes the idle reader
            order.append("posted")
            await conn.shutdown()
    assert order == ["NLN", "hello", "posted"]


async def test_a_server_that_stops_reading_times_the_write_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client_end, server_end = trio.testing.lockstep_stream_pair()  # nobody reads server_end

    async def opener(host: str, port: int) -> trio.abc.Stream:
        return client_end

    closes: list[Any] = []
    with trio.fail_after(60):  # clock time: a write that waits for ever fails the test
        async with Session(ALICE, ALICE_PW, open_stream=opener, request_timeout=7) as session:
            conn = Connection(session, "127.0.0.1", 1863, name="Test")
            conn.add_handler(closes.append, "close")
            await conn.connect()
            with pytest.raises(RequestTimeout, match="could not write within 7"):
                await conn.request(make("CHG", "NLN"), time_limit=100)
            await conn.wait_closed()
            assert not conn.open
            assert conn.close_reason == "could not write within 7 s"
            await until(lambda: closes)
            assert closes == [conn]  # the server's doing: the close event is dispatched
    await server_end.aclose()


async def test_closing_ends_a_write_the_server_does_not_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client_end, server_end = trio.testing.lockstep_stream_pair()

    async def opener(host: str, port: int) -> trio.abc.Stream:
        return client_end

    async with Session(ALICE, ALICE_PW, open_stream=opener, request_timeout=100) as session:
        conn = await Connection(session, "127.0.0.1", 1863, name="Test").connect()
        conn.send(make("CHG", "NLN"))  # written by a background task, which now waits
        await trio.sleep(1)
        with trio.fail_after(1):  # not the 100 s a shielded write may take
            await conn.close()
    await server_end.aclose()
