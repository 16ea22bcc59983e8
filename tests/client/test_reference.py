"""End to end against the embedded reference server (msmgr.server) over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from msmgr.client import AuthenticationError, Conversation, Session, open_session, parse_message
from msmgr.codec import Command
from msmgr.server import ServerAddresses

from .scripted import until

ALICE, BOB = "alice@example.com", "bob@example.com"
PASSWORDS = {ALICE: "alice-password", BOB: "bob-password"}


@asynccontextmanager
async def logged_in(
    addrs: ServerAddresses, handle: str, protocol: int, **options: Any
) -> AsyncIterator[Session]:
    async with open_session(
        handle,
        options.pop("password", PASSWORDS[handle]),
        server=addrs.ds,
        protocol=protocol,
        nexus_url=addrs.nexus_url,
        request_timeout=5,
        login_timeout=10,
        **options,
    ) as session:
        yield session


@pytest.mark.parametrize("protocol", [2, 5, 7, 8, 9, 10, 11, 12])
async def test_login_sync_and_logout(reference_server: ServerAddresses, protocol: int) -> None:
    with trio.fail_after(10):
        async with logged_in(reference_server, ALICE, protocol) as session:
            assert session.version == protocol
            assert session.ns is not None
            assert (session.ns.nserver, session.ns.nsport) == reference_server.ns
            await session.sync()
            assert session.lists["FL"] == [BOB, "carol@example.com"]
            assert sorted(session.lists["RL"]) == [BOB, "carol@example.com"]
            assert session.lists["BL"] == []
            if protocol >= 7:  # groups (LSG) since MSNP7: bob's are known groups
                groups = session.contact_lists.groups
                assert session.contacts[BOB].groups
                assert all(g in groups for g in session.contacts[BOB].groups), groups
            if protocol < 10:
                assert session.list_version == 1
            else:  # MSNP10+: the two timestamps instead
                assert len(session.list_stamps) == 2
            await session.sync()  # up to date now: the SYN reply alone
            assert session.lists["FL"] == [BOB, "carol@example.com"]
        assert not session.logged_in
        assert session.ns is not None
        assert session.ns.closed


@pytest.mark.parametrize("protocol", [7, 8])
async def test_wrong_password(reference_server: ServerAddresses, protocol: int) -> None:
    with trio.fail_after(10), pytest.raises(AuthenticationError):
        async with logged_in(reference_server, ALICE, protocol, password="wrong"):
            raise AssertionError("logged in with a wrong password")


@pytest.mark.parametrize("protocol", [7, 8, 10, 11, 12])
async def test_presence_chl_and_chat_both_ways(
    reference_server: ServerAddresses, protocol: int
) -> None:
    bob_heard: list[str] = []
    alice_heard: list[str] = []
    qry_replies: list[Command] = []

    async def bob_echo(command: Command, conversation: Conversation) -> None:
        message = parse_message(command)
        if message.is_text:
            bob_heard.append(message.text)
            await conversation.send_text(f"bob got {message.text!r}", ack="A")

    def bob_conversation(conversation: Conversation) -> None:
        conversation.sb.add_handler((bob_echo, conversation), "MSG")

    with trio.fail_after(15):
        async with logged_in(reference_server, ALICE, protocol) as alice:
            alice.add_handler(qry_replies.append, "QRY")
            await alice.sync()
            await alice.set_state("NLN")
            async with logged_in(reference_server, BOB, protocol) as bob:
                bob.add_handler(bob_conversation, "conversation")
                await bob.sync()
                await bob.set_state("AWY")
                await until(lambda: alice.roster.get(BOB) == "AWY")
                # ILN after bob's CHG reply: set_state returns at the reply, the ILN follows
                await until(lambda: bob.roster.get(ALICE) == "NLN")
                if protocol >= 6:
                    await until(lambda: qry_replies)  # alice's answer to CHL was accepted
                conversation = await alice.new_conversation(BOB)
                assert conversation.roster() == [BOB]
                conversation.sb.add_handler(
                    lambda c: alice_heard.append(parse_message(c).text), "MSG"
                )
                ack = await conversation.send_text("hello bob", ack="A")
                assert ack.verb == "ACK"
                await until(lambda: alice_heard)
                (bob_side,) = bob.conversations
                assert bob_side.roster() == [ALICE]
                assert bob_side.inviter == ALICE
            await until(lambda: BOB not in alice.roster)  # bob logged out: FLN
            await conversation.wait_for(BOB, present=False)
    assert bob_heard == ["hello bob"]
    assert alice_heard == ["bob got 'hello bob'"]


async def test_two_conversations_at_once(reference_server: ServerAddresses) -> None:
    with trio.fail_after(15):
        async with logged_in(reference_server, ALICE, 7) as alice:
            await alice.set_state("NLN")
            async with logged_in(reference_server, BOB, 7) as bob:
                await bob.set_state("NLN")
                first = await alice.new_conversation(BOB)
                second = await alice.new_conversation(BOB)
                assert first.sb.ssid != second.sb.ssid
                assert len(alice.conversations) == 2
                await until(lambda: len(bob.conversations) == 2)
        assert not alice.conversations
        assert first.sb.closed
        assert second.sb.closed
