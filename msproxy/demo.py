"""msproxy/demo: the whole toolkit in one run, on loopback.

The embedded reference server (``msmgr.server``), the proxy in front of it, and two
clients built on ``msmgr.client``: bob logs in with MSNP7 (MD5) and waits; alice logs in
with MSNP8 (Passport 1.4), sees bob online, opens a switchboard, invites him and says
hello; bob answers on the switchboard he was rung to; both log out. Every connection
(dispatch, notification, both switchboards) goes through the proxy, which writes the
capture that is then shown and summarised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from msmgr.client import Conversation, open_session, parse_message
from msmgr.codec import Command
from msmgr.server import DEMO_USERS, ServerConfig, serve_reference
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.loss import CaptureLoss
from msproxy.proxy.server import ProxyListening, serve_proxy

logger = logging.getLogger(__name__)

ALICE = "alice@example.com"
BOB = "bob@example.com"


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo did: the capture it wrote and the messages each side received
    (``loss``: what the capture lost when a write to it failed)."""

    capture: Path
    alice_received: list[str]
    bob_received: list[str]
    loss: CaptureLoss | None = None


async def run_demo(
    capture: Path,
    *,
    alice_protocol: str = "MSNP8",
    bob_protocol: str = "MSNP7",
    say: Callable[[str], None] = lambda text: None,
    time_limit: float = 30.0,
    accelerate: bool | None = None,
    codec_accelerate: bool | None = None,
) -> DemoResult:
    """Run the scripted conversation through the proxy; return what was received.

    Args:
        capture: the capture file to create.
        alice_protocol: the highest version alice offers (she starts the conversation).
        bob_protocol: the highest version bob offers (he is rung and answers).
        say: called with one line of narration per step.
        time_limit: seconds the whole demo may take before it fails.
        accelerate: the proxy's choice of the capture's C path (``ProxyConfig``).
        codec_accelerate: the codec's C accelerator in the reference server and the two
            clients (``ServerConfig``, ``Session``); None (the default): when it is built.

    Raises:
        trio.TooSlowError: the demo did not finish in ``time_limit``.
    """
    with trio.fail_after(time_limit):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(serve_reference, ServerConfig(accelerate=codec_accelerate))
            ds = f"{server.ds[0]}:{server.ds[1]}"
            say(f"reference server: dispatch {ds}, nexus {server.nexus_url}")
            proxy: ProxyListening = await nursery.start(
                serve_proxy,
                ProxyConfig(
                    upstream=server.ds,
                    listen=("127.0.0.1", 0),
                    capture=capture,
                    accelerate=accelerate,
                    codec_accelerate=codec_accelerate,
                ),
            )
            say(f"msproxy: listening on {proxy.url}, capturing to {capture}")
            alice_received, bob_received = await converse(
                proxy.url,
                server.nexus_url,
                alice_protocol=alice_protocol,
                bob_protocol=bob_protocol,
                say=say,
                accelerate=codec_accelerate,
            )
            nursery.cancel_scope.cancel()
    return DemoResult(capture, alice_received, bob_received, proxy.loss)


async def converse(
    server: str,
    nexus_url: str,
    *,
    alice_protocol: str = "MSNP8",
    bob_protocol: str = "MSNP7",
    say: Callable[[str], None] = lambda text: None,
    accelerate: bool | None = None,
) -> tuple[list[str], list[str]]:
    """The demo's conversation, its clients connecting to ``server`` (``host:port``: a
    proxy in front of the reference server whose Passport nexus is ``nexus_url``); the
    messages alice and bob received."""
    options: dict[str, Any] = {"server": server, "nexus_url": nexus_url, "accelerate": accelerate}
    alice_received: list[str] = []
    bob_received: list[str] = []
    await _converse(options, alice_protocol, bob_protocol, alice_received, bob_received, say)
    return alice_received, bob_received


async def _converse(
    options: dict[str, Any],
    alice_protocol: str,
    bob_protocol: str,
    alice_received: list[str],
    bob_received: list[str],
    say: Callable[[str], None],
) -> None:
    bob_answered = trio.Event()
    bob_online = trio.Event()

    async def bob_replies(command: Command, conversation: Conversation) -> None:
        message = parse_message(command)
        if message.is_text:
            bob_received.append(message.text)
            say(f"bob   <- {message.text!r}")
            text = f"Hi Alice! Bob here, on {bob_protocol}."
            await conversation.send_text(text, ack="A")  # a handler may await its ACK
            say(f"bob   -> {text!r} (acknowledged)")

    def bob_rung(conversation: Conversation) -> None:
        say("bob   rung to a switchboard, answered")
        conversation.sb.add_handler((bob_replies, conversation), "MSG")

    def alice_sees(command: Command) -> None:
        if BOB in command.args and "NLN" in command.args:
            bob_online.set()

    async def alice_hears(command: Command) -> None:
        message = parse_message(command)
        if message.is_text:
            alice_received.append(message.text)
            say(f"alice <- {message.text!r}")
            bob_answered.set()

    bob_options = {**options, "protocol": bob_protocol}
    async with open_session(BOB, DEMO_USERS[BOB], **bob_options) as bob:
        bob.add_handler(bob_rung, "conversation")
        await bob.set_state("NLN")
        say(f"bob   logged in ({bob_protocol}, version {bob.version} chosen) and is online")
        alice_options = {**options, "protocol": alice_protocol}
        async with open_session(ALICE, DEMO_USERS[ALICE], login=False, **alice_options) as alice:
            alice.add_handler(alice_sees, "ILN", "NLN")
            await alice.login()
            say(f"alice logged in ({alice_protocol}, version {alice.version} chosen)")
            await alice.set_state("NLN")
            await bob_online.wait()
            say("alice sees bob online")
            conversation = await alice.new_conversation(BOB)
            conversation.sb.add_handler(alice_hears, "MSG")
            say("alice opened a switchboard and bob joined")
            text = "Hello Bob, this is Alice, through msproxy."
            await conversation.send_text(text, ack="A")
            say(f"alice -> {text!r} (acknowledged)")
            await bob_answered.wait()
            await conversation.shutdown()
            await alice.logout()
            say("alice logged out")
        await bob.logout()
        say("bob   logged out")
