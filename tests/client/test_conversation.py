"""Conversations over scripted NS and SB servers: XFR SB/USR/CAL, RNG/ANS, messages."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from msmgr.client import (
    Conversation,
    MessageNotDelivered,
    ServerError,
    Session,
    parse_message,
    text_message,
)
from msmgr.codec import Command

from .scripted import ALICE, ALICE_PW, COOKIE, Peer, serve, serve_ns_and_sb, until

BOB = "bob@example.com"


async def test_outgoing_conversation(nursery: trio.Nursery) -> None:
    sb_seen: list[Command] = []

    async def sb(peer: Peer) -> None:
        usr = await peer.expect("USR")
        assert usr.args == (ALICE, COOKIE)
        await peer.reply(usr, "OK", ALICE, "Alice")
        cal = await peer.expect("CAL")
        assert cal.args == (BOB,)
        await peer.reply(cal, "RINGING", "11752013")
        await peer.send("JOI", None, BOB, "Bob%20B")
        msg = await peer.expect("MSG")
        sb_seen.append(msg)
        await peer.send("ACK", msg.trid)
        msg = await peer.expect("MSG")
        sb_seen.append(msg)
        await peer.send("NAK", msg.trid)
        typing = await peer.expect("MSG")
        sb_seen.append(typing)
        await peer.send("MSG", None, BOB, "Bob%20B", payload=text_message("hi there"))
        await peer.send("BYE", None, BOB)
        await peer.expect("OUT")

    address = await serve_ns_and_sb(nursery, sb)
    received: list[Any] = []
    conversations: list[Any] = []
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            session.add_handler(conversations.append, "conversation")
            await session.login()
            conversation = await session.new_conversation(BOB)
            assert conversations == [conversation]
            assert conversation.connected
            assert conversation.roster() == [BOB]
            assert conversation.email == {BOB: "Bob B"}
            assert conversation.sb.ssid == "17262740"
            assert conversation in session.conversations
            conversation.sb.add_handler(received.append, "MSG")
            ack = await conversation.send_text("hello", ack="A")
            assert ack.verb == "ACK"
            with pytest.raises(MessageNotDelivered):
                await conversation.send_message(text_message("lost"), "A")
            conversation.send_typing()
            await conversation.wait_for(BOB, present=False)
            assert conversation.roster() == []
            await until(lambda: received)
    text, lost, typing = sb_seen
    assert lost.payload == text_message("lost")
    assert text.args == ("A",)
    assert text.payload == text_message("hello")
    assert text.payload.startswith(
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        b"X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nhello"
    )
    assert typing.args == ("U",)
    assert typing.payload is not None
    assert b"TypingUser: alice@example.com" in typing.payload
    message = parse_message(received[0])
    assert (message.sender, message.name, message.text, message.is_text) == (
        BOB,
        "Bob B",
        "hi there",
        True,
    )
    assert not session.conversations


async def test_invite_error_is_a_server_error(nursery: trio.Nursery) -> None:
    async def sb(peer: Peer) -> None:
        usr = await peer.expect("USR")
        await peer.reply(usr, "OK", ALICE, "Alice")
        cal = await peer.expect("CAL")
        await peer.send("217", cal.trid)
        await peer.expect("OUT")

    address = await serve_ns_and_sb(nursery, sb)
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            await session.login()
            conversation = await session.new_conversation()
            with pytest.raises(ServerError, match="217") as info:
                await conversation.invite("nobody@example.com")
            assert info.value.code == 217


async def test_incoming_rng_is_answered(nursery: trio.Nursery) -> None:
    answered: list[Command] = []

    async def sb(peer: Peer) -> None:
        ans = await peer.expect("ANS")
        answered.append(ans)
        await peer.send("IRO", ans.trid, "1", "2", BOB, "Bob")
        await peer.send("IRO", ans.trid, "2", "2", "carol@example.com", "Carol")
        await peer.reply(ans, "OK")
        await peer.send("MSG", None, BOB, "Bob", payload=text_message("ping?"))
        reply = await peer.expect("MSG")
        answered.append(reply)
        await peer.expect("OUT")

    sb_host, sb_port = await serve(nursery, sb)
    proceed = trio.Event()

    async def ns(peer: Peer) -> None:
        await peer.md5_login()
        await proceed.wait()
        await peer.send(
            "RNG", None, "11752013", f"{sb_host}:{sb_port}", "CKI", "1056411141.26158", BOB, "Bob"
        )
        await peer.expect("OUT")

    address = await serve(nursery, ns)

    async def echo(command: Command, conversation: Conversation) -> None:
        await conversation.send_text("pong: " + parse_message(command).text)

    def on_conversation(conversation: Conversation) -> None:
        conversation.sb.add_handler((echo, conversation), "MSG")

    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            session.add_handler(on_conversation, "conversation")
            await session.login()
            proceed.set()
            await until(lambda: len(answered) == 2)
            (conversation,) = session.conversations
            assert conversation.connected
            assert conversation.roster() == [BOB, "carol@example.com"]
            assert conversation.inviter == BOB
            assert conversation.sb.ssid == "11752013"
    ans, reply = answered
    assert ans.args == (ALICE, "1056411141.26158", "11752013")
    assert reply.payload is not None
    assert reply.payload.endswith(b"\r\n\r\npong: ping?")
