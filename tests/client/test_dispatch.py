"""Reading and dispatching are separate tasks: a handler may await a reply on its own
connection, handlers still run one at a time in order, pseudo events keep their place.

The request timeouts here are far longer than the ``fail_after`` around each test, so a
handler that could only get its reply by timing out fails the test instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from msmgr.client import (
    ClientError,
    Conversation,
    Session,
    open_session,
    parse_message,
    text_message,
)
from msmgr.codec import Command
from msmgr.server import ServerAddresses

from .scripted import ALICE, ALICE_PW, Peer, serve, serve_ns_and_sb, until

BOB = "bob@example.com"
LONG = 60.0  # request timeout: far beyond every test's fail_after


async def test_msg_handler_awaits_its_ack_on_the_same_switchboard(nursery: trio.Nursery) -> None:
    sb_seen: list[Command] = []

    async def sb(peer: Peer) -> None:
        usr = await peer.expect("USR")
        await peer.reply(usr, "OK", ALICE, "Alice")
        await peer.send("JOI", None, BOB, "Bob")
        await peer.send("MSG", None, BOB, "Bob", payload=text_message("ping"))
        answer = await peer.expect("MSG")
        sb_seen.append(answer)
        await peer.send("ACK", answer.trid)
        await peer.send("MSG", None, BOB, "Bob", payload=text_message("after"))
        await peer.expect("OUT")

    address = await serve_ns_and_sb(nursery, sb)
    events: list[str] = []
    acks: list[Command] = []

    async def answer(command: Command, conversation: Conversation) -> None:
        text = parse_message(command).text
        events.append(f"got {text}")
        if text == "ping":
            acks.append(await conversation.send_text("pong", ack="A"))
            events.append("acked")

    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7, request_timeout=LONG) as s:
            await s.login()
            conversation = await s.new_conversation()
            conversation.sb.add_handler((answer, conversation), "MSG")
            await until(lambda: "got after" in events)
    assert [parse_message(m).text for m in sb_seen] == ["pong"]
    assert sb_seen[0].args == ("A",)
    assert [a.verb for a in acks] == ["ACK"]
    assert acks[0].trid == sb_seen[0].trid
    # In order: the next MSG's handler ran only once the awaiting handler returned.
    assert events == ["got ping", "acked", "got after"]


async def test_handlers_run_in_order_and_close_comes_last(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.md5_login()
        for i in range(20):
            await peer.send("NLN", None, "NLN", f"user{i}@example.com", f"U{i}")
        # then the server goes away without OUT

    address = await serve(nursery, script)
    seen: list[str] = []

    async def slow_first(command: Command) -> None:
        if command.args[1] == "user0@example.com":
            await trio.sleep(0.05)  # the reader goes on meanwhile; the others wait their turn
        seen.append(command.args[1])

    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            session.add_handler(slow_first, "NLN")
            session.add_handler(lambda conn: seen.append("close"), "close")
            await session.login()
            await session.wait_logged_out()
    assert seen == [f"user{i}@example.com" for i in range(20)] + ["close"]


async def test_request_from_a_handler_fails_fast_when_the_server_is_gone(
    nursery: trio.Nursery,
) -> None:
    async def script(peer: Peer) -> None:
        await peer.md5_login()
        await peer.send("NLN", None, "NLN", BOB, "Bob")
        # the client's CHG (sent from its handler) is never answered: the server hangs up

    address = await serve(nursery, script)
    errors: list[str] = []

    async def on_nln(command: Command, session: Session) -> None:
        try:
            await session.set_state("BSY")
        except ClientError as exc:
            errors.append(type(exc).__name__)

    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7, request_timeout=LONG) as s:
            s.add_handler((on_nln, s), "NLN")
            await s.login()
            await s.wait_logged_out()
    assert errors == ["ConnectionLost"]


async def test_a_handler_may_log_out(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.md5_login()
        await peer.send("NLN", None, "NLN", BOB, "Bob")
        await peer.expect("OUT")
        await peer.send_line("OUT")

    address = await serve(nursery, script)

    async def leave(command: Command, session: Session) -> None:
        await session.logout()

    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            session.add_handler((leave, session), "NLN")
            await session.login()
            await session.wait_logged_out()
            assert session.ns is not None
            await session.ns.wait_closed()
    assert not session.logged_in


@asynccontextmanager
async def reference_login(
    addrs: ServerAddresses, handle: str, password: str, protocol: int
) -> AsyncIterator[Session]:
    async with open_session(
        handle,
        password,
        server=addrs.ds,
        protocol=protocol,
        nexus_url=addrs.nexus_url,
        request_timeout=LONG,
        login_timeout=LONG,
    ) as session:
        yield session


@pytest.mark.parametrize("protocol", [7, 12])
async def test_reference_server_ack_awaited_inside_the_msg_handler(
    reference_server: ServerAddresses, protocol: int
) -> None:
    acks: list[Command] = []
    alice_heard: list[str] = []

    async def bob_echo(command: Command, conversation: Conversation) -> None:
        message = parse_message(command)
        if message.is_text:
            acks.append(await conversation.send_text(f"echo {message.text}", ack="A"))

    def bob_conversation(conversation: Conversation) -> None:
        conversation.sb.add_handler((bob_echo, conversation), "MSG")

    with trio.fail_after(10):
        async with reference_login(reference_server, ALICE, "alice-password", protocol) as alice:
            await alice.set_state("NLN")
            async with reference_login(reference_server, BOB, "bob-password", protocol) as bob:
                bob.add_handler(bob_conversation, "conversation")
                await bob.set_state("NLN")
                conversation = await alice.new_conversation(BOB)
                conversation.sb.add_handler(
                    lambda c: alice_heard.append(parse_message(c).text), "MSG"
                )
                await conversation.send_text("one", ack="A")
                await until(lambda: len(acks) == 1)
    assert [a.verb for a in acks] == ["ACK"]
    assert alice_heard == ["echo one"]
