"""scripts/echo_bot.py against its cassette: recorded once from the reference server
(``tests/cassettes/test_echo_bot/``), replayed on every later run without any server."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from msmgr.client import open_session, parse_message
from msmgr.codec import Command
from msproxy.fixtures import MsnpCassette
from tests.echo_bot_module import load_echo_bot

ROOT = Path(__file__).resolve().parents[2]
BOT, BOT_PASSWORD = "bob@example.com", "bob-password"
USER, USER_PASSWORD = "alice@example.com", "alice-password"


@pytest.mark.msnp_cassette
async def test_echo_bot_echoes_a_message(msnp_cassette: MsnpCassette) -> None:
    bot = load_echo_bot()
    heard: list[str] = []
    echoed, bot_online, challenged = trio.Event(), trio.Event(), trio.Event()

    def presence(command: Command) -> None:
        if BOT in command.args and "NLN" in command.args:
            bot_online.set()

    def hear(command: Command) -> None:
        message = parse_message(command)
        if message.is_text:
            heard.append(message.text)
            echoed.set()

    bot_scope = trio.CancelScope()

    async def run_bot() -> None:
        with bot_scope:
            await bot.run_bot(BOT, BOT_PASSWORD, server=msnp_cassette.address, protocol=7)

    # Two protocol versions, so that the replay tells the two clients apart by their VER.
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_bot)
            async with open_session(
                USER, USER_PASSWORD, server=msnp_cassette.address, protocol=6, login=False
            ) as user:
                user.add_handler(presence, "ILN", "NLN")
                user.add_handler(lambda command: challenged.set(), "QRY")
                await user.login()
                await user.set_state("NLN")
                await bot_online.wait()
                await challenged.wait()  # the challenge answered: the replay expects it first
                conversation = await user.new_conversation(BOT)
                conversation.sb.add_handler(hear, "MSG")
                await conversation.send_text("hello, bot")
                await echoed.wait()
                bot_scope.cancel()  # the bot logs out
                await conversation.wait_for(BOT, present=False)
    assert heard == ["hello, bot"]
