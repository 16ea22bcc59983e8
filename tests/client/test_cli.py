"""The client sub-commands and the echo bot, against the reference server."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import trio

from msmgr.__main__ import build_parser
from msmgr.__main__ import main as msmgr_main
from msmgr.cli import contacts, listen, presence, send
from msmgr.cli.client_options import nexus_url, run_guarded
from msmgr.client import ClientError, Session, open_session, parse_message
from msmgr.client.passport import DEFAULT_NEXUS
from msmgr.codec import Command
from msmgr.server import ServerAddresses
from tests.echo_bot_module import load_echo_bot

from .scripted import until

ROOT = Path(__file__).resolve().parents[2]


def parse(
    addrs: ServerAddresses, *argv: str, user: str = "alice@example.com"
) -> argparse.Namespace:
    host, port = addrs.ds
    password = user.split("@")[0] + "-password"
    common = ["--server", f"{host}:{port}", "--nexus", addrs.nexus_url, "--timeout", "5"]
    command, *rest = argv
    return build_parser().parse_args(
        [command, *common, "--user", user, "--password", password, *rest]
    )


def bob(addrs: ServerAddresses) -> Session:
    return Session(
        "bob@example.com",
        "bob-password",
        server=addrs.ds,
        nexus_url=addrs.nexus_url,
        protocol=7,
        request_timeout=5,
    )


async def test_send_delivers_and_exits_0(
    reference_server: ServerAddresses, capsys: pytest.CaptureFixture[str]
) -> None:
    heard: list[str] = []
    with trio.fail_after(10):
        async with bob(reference_server) as session:
            session.add_handler(
                lambda conv: conv.sb.add_handler(
                    lambda c: heard.append(parse_message(c).text), "MSG"
                ),
                "conversation",
            )
            await session.login()
            await session.set_state("NLN")
            args = parse(reference_server, "send", "--to", "bob@example.com", "hi bob")
            assert await run_guarded("send", send.main, args) == 0
            await until(lambda: heard)
    assert heard == ["hi bob"]
    assert capsys.readouterr().out == "delivered to bob@example.com\n"


async def test_send_to_an_offline_contact_fails_clearly(
    reference_server: ServerAddresses, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse(reference_server, "send", "--to", "bob@example.com", "--protocol", "MSNP7", "x")
    with trio.fail_after(10):
        assert await run_guarded("send", send.main, args) == 1
    assert "msmgr send: error: server error 217 (user not online)" in capsys.readouterr().err


async def test_wrong_password_fails_clearly(
    reference_server: ServerAddresses, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse(reference_server, "contacts", "--password", "nope")
    with trio.fail_after(10):
        assert await run_guarded("contacts", contacts.main, args) == 1
    assert "refused the login of alice@example.com" in capsys.readouterr().err


@pytest.mark.parametrize("protocol", ["MSNP7", "MSNP8", "MSNP10", "MSNP11", "MSNP12"])
async def test_contacts_prints_a_table(
    reference_server: ServerAddresses, capsys: pytest.CaptureFixture[str], protocol: str
) -> None:
    args = parse(reference_server, "contacts", "--protocol", protocol)
    with trio.fail_after(10):
        assert await run_guarded("contacts", contacts.main, args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["handle", "name", "lists", "groups"]
    assert lines[2].split() == [
        "bob@example.com",
        "bob@example.com",
        "FL",
        "AL",
        "RL",
        "Other",
        "Contacts",
    ]
    assert lines[3].startswith("carol@example.com")


async def test_presence_and_listen(
    reference_server: ServerAddresses, capsys: pytest.CaptureFixture[str]
) -> None:
    listen_args = parse(
        reference_server, "listen", "--count", "1", "--duration", "8", user="bob@example.com"
    )
    results: list[int] = []
    printed: list[str] = []

    def output() -> str:
        printed.append(capsys.readouterr().out)
        return "".join(printed)

    async def run_listen() -> None:
        results.append(await run_guarded("listen", listen.main, listen_args))

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_listen)
            async with open_session(
                "alice@example.com", "alice-password", server=reference_server.ds, protocol=7
            ) as alice:
                await alice.set_state("NLN")
                await until(lambda: alice.roster.get("bob@example.com") == "NLN")
                args = parse(reference_server, "presence", "BSY", user="carol@example.com")
                assert await run_guarded("presence", presence.main, args) == 0
                # carol's FLN reaches bob on his NS, the message on his SB: no order between
                # the two connections, and listen stops at the first message. So the message
                # goes only once listen has printed the FLN (fail_after bounds the wait).
                await until(lambda: "carol@example.com is now Offline" in output())
                conversation = await alice.new_conversation("bob@example.com")
                await conversation.send_text("are you there?", ack="A")
    assert results == [0]
    out = output().splitlines()
    assert "carol@example.com is now Offline" in out  # presence logged in, set BSY, left
    assert "alice@example.com: are you there?" in out
    assert "alice@example.com is now Online" in out


def test_echo_bot_debug_flags_are_checked_like_msmgrs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot = load_echo_bot()
    with pytest.raises(SystemExit) as exit_info:
        bot.main(["--user", "bob@example.com", "--password", "x", "--debug", "FOO"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --debug: unknown debug flag 'FOO' (known: PACKET_SEND," in err
    assert "parse_debug" not in err


async def test_echo_bot_answers(reference_server: ServerAddresses, nursery: trio.Nursery) -> None:
    bot = load_echo_bot()
    nursery.start_soon(
        lambda: bot.run_bot(
            "bob@example.com", "bob-password", server=reference_server.ds, protocol=7
        )
    )
    echoes: list[str] = []
    with trio.fail_after(10):
        async with open_session(
            "alice@example.com", "alice-password", server=reference_server.ds, protocol=7
        ) as alice:
            await alice.set_state("NLN")
            await until(lambda: alice.roster.get("bob@example.com") == "NLN")
            conversation = await alice.new_conversation("bob@example.com")

            def heard(command: Command) -> None:
                echoes.append(parse_message(command).text)

            conversation.sb.add_handler(heard, "MSG")
            await conversation.send_text("echo me", ack="A")
            await until(lambda: echoes)
    assert echoes == ["echo me"]


def test_nexus_is_needed_for_tweener_logins_elsewhere_than_microsoft() -> None:
    assert nexus_url("127.0.0.1", 8, "http://x/rdr") == "http://x/rdr"
    assert nexus_url("messenger.hotmail.com", 8, None) == DEFAULT_NEXUS
    assert nexus_url("gateway.Messenger.Hotmail.COM.", 12, None) == DEFAULT_NEXUS
    assert nexus_url("127.0.0.1", 7, None) == DEFAULT_NEXUS  # MD5: never asked
    for host in ("127.0.0.1", "ms.example.net", "nothotmail.com"):
        with pytest.raises(ClientError, match="pass --nexus URL"):
            nexus_url(host, 8, None)


def test_send_without_nexus_says_what_to_pass(capsys: pytest.CaptureFixture[str]) -> None:
    """Before connecting anywhere (port 9 of 127.0.0.1 is never asked)."""
    argv = ["send", "--server", "127.0.0.1:9", "--user", "a@b.c", "--password", "p"]
    assert msmgr_main([*argv, "--to", "x@y.z", "hi"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("msmgr send: error: MSNP8 and later log in through a Passport 1.4 nexus")
    assert "pass --nexus URL" in err
