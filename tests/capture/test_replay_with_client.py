"""End to end: record the real msmgr client through the real proxy in front of the
reference server, then replay that capture as the server and drive it with the same
client code.

The recorded session is alice's (MSNP7, MD5): login, list sync, CHG (and the CHL/QRY it
brings), a conversation with bob with one message and its ACK, logout. Bob is logged in
straight to the reference server (not through the proxy), so the capture holds one client.

The MD5 answer (``USR trid MD5 S <hash>``) is redacted in the capture
(``<redacted:...>``); the replayer's ``ticket`` ignore rule (on by default) turns every
redacted placeholder, and the client's ``USR ... MD5 S`` answer itself, into the same
placeholder, so the live hash matches it without being checked.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import trio

from msmgr.client import Conversation, Session, parse_message
from msmgr.codec import Command
from msmgr.codec.redirect import find_redirect
from msmgr.server import ServerAddresses, ServerConfig, ServerState, serve_reference
from msproxy.capture import record_command
from msproxy.inspect import Capture, load_capture
from msproxy.inspect.session_replay import SessionReport, serve_session_replay
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import ProxyListening, serve_proxy

ALICE, BOB = "alice@example.com", "bob@example.com"
PASSWORDS = {ALICE: "alice-password", BOB: "bob-password"}
TEXT = "hello bob, this is recorded"


class Witness:
    """Everything alice's client received, per connection kind, as its handlers saw it."""

    def __init__(self, ns_verbs: set[str], sb_verbs: set[str]) -> None:
        self.ns: list[Command] = []  # the DS and NS connections (one handler table)
        self.sb: list[Command] = []
        self.sb_verbs = sb_verbs
        self.ns_verbs = ns_verbs

    def attach(self, session: Session) -> None:
        session.add_handler(self.ns.append, *self.ns_verbs)
        session.add_handler(self.on_conversation, "conversation")

    def on_conversation(self, conversation: Conversation) -> None:
        conversation.sb.add_handler(self.sb.append, *self.sb_verbs)


async def alice_session(server: tuple[str, int], witness: Witness) -> dict[str, object]:
    """Alice's whole session; returns what she ended up knowing."""
    session = Session(
        ALICE, PASSWORDS[ALICE], server=server, protocol=7, request_timeout=5, login_timeout=10
    )
    async with session:
        witness.attach(session)
        await session.login()
        await session.sync()
        await session.set_state("NLN")
        # The CHL the first CHG brings is answered (QRY) before the conversation starts,
        # so the client's commands come in one order, recorded and replayed alike.
        while not any(c.verb == "QRY" for c in witness.ns):  # noqa: ASYNC110 - handler-fed
            await trio.sleep(0.01)
        conversation = await session.new_conversation(BOB)
        ack = await conversation.send_text(TEXT, ack="A")
        seen = {
            "lists": {name: list(handles) for name, handles in session.lists.items()},
            "roster": dict(session.roster),
            "participants": conversation.roster(),
            "ack": ack.verb,
            "name": session.friendly_name,
            "version": session.version,
        }
    return seen


async def record(tmp_path: Path) -> tuple[Path, dict[str, object], Witness]:
    """Alice through the proxy (capturing) in front of the reference server; bob direct."""
    capture = tmp_path / "alice.jsonl"
    witness = Witness({"VER", "INF", "USR", "XFR", "SYN", "LST", "LSG", "GTC", "BLP",
                       "BPR", "CHG", "ILN", "NLN", "FLN", "CHL", "QRY", "OUT", "MSG"},
                      {"USR", "CAL", "JOI", "IRO", "ACK", "NAK", "MSG", "BYE"})  # fmt: skip
    bob_heard: list[str] = []
    async with trio.open_nursery() as nursery:
        state = ServerState.from_users(dict(PASSWORDS))
        addrs: ServerAddresses = await nursery.start(
            partial(serve_reference, ServerConfig(), state=state)
        )
        async with trio.open_nursery() as proxy_nursery:
            config = ProxyConfig(upstream=addrs.ds, listen=("127.0.0.1", 0), capture=capture)
            listening: ProxyListening = await proxy_nursery.start(serve_proxy, config)
            async with Session(BOB, PASSWORDS[BOB], server=addrs.ds, protocol=7) as bob:

                def bob_listens(conversation: Conversation) -> None:
                    conversation.sb.add_handler(
                        lambda c: bob_heard.append(parse_message(c).text), "MSG"
                    )

                bob.add_handler(bob_listens, "conversation")
                await bob.login()
                await bob.set_state("NLN")
                seen = await alice_session(listening.address, witness)
            proxy_nursery.cancel_scope.cancel()  # close records written, file closed
        nursery.cancel_scope.cancel()
    assert bob_heard == [TEXT]
    assert state.internal_errors == 0
    return capture, seen, witness


def recorded_replies(capture: Capture) -> tuple[list[Command], list[Command]]:
    """The server's commands of the recording: DS and NS together, and the switchboard."""
    ns: list[Command] = []
    sb: list[Command] = []
    for conn in sorted(capture.connections):
        role = capture.connections[conn].role
        target = sb if role == "SB" else ns
        target.extend(record_command(r) for r in capture.commands(conn) if r["dir"] == "s2c")
    return ns, sb


def comparable(
    command: Command, *, payload: bool = True
) -> tuple[str, tuple[str, ...], bytes | None]:
    """Verb, arguments and payload, with the address token of a redirect left out (the
    replayer points redirects at itself; nothing else on the line changes)."""
    args = command.args
    info = find_redirect(command)
    if info is not None:
        args = tuple("<addr>" if a == info.address else a for a in args)
    return command.verb, args, command.payload if payload else None


async def test_replayed_capture_drives_the_client_like_the_server_did(tmp_path: Path) -> None:
    with trio.fail_after(20):
        path, live, recorded_witness = await record(tmp_path)
        capture = load_capture(path)
        roles = sorted(str(c.role) for c in capture.connections.values())
        assert roles == ["DS", "NS", "SB"], roles
        # The MD5 answer is in the capture only as a placeholder.
        usr_s = [
            record_command(r)
            for r in capture.commands()
            if r["dir"] == "c2s" and record_command(r).args[:2] == ("MD5", "S")
        ]
        assert len(usr_s) == 1
        assert usr_s[0].args[2].startswith("<redacted")

        witness = Witness(recorded_witness.ns_verbs, recorded_witness.sb_verbs)
        reports: list[SessionReport] = []

        async def replay(*, task_status: trio.TaskStatus[list[tuple[str, int]]]) -> None:
            reports.append(
                await serve_session_replay(capture, step_timeout=3, task_status=task_status)
            )

        async with trio.open_nursery() as nursery:
            addresses: list[tuple[str, int]] = await nursery.start(replay)
            replayed = await alice_session(addresses[0], witness)
        (report,) = reports

    assert report.ok, report.format()
    assert len(report.connections) == 3, report.format()
    # The client came to the same conclusions as against the real server ...
    assert replayed == live
    assert live["ack"] == "ACK"
    assert live["roster"] == {BOB: "NLN"}
    # ... from the same replies: what its handlers saw is what the server sent on record.
    ns_recorded, sb_recorded = recorded_replies(capture)
    assert [comparable(c) for c in witness.ns] == [comparable(c) for c in ns_recorded]
    assert [comparable(c) for c in witness.sb] == [comparable(c) for c in sb_recorded]
    # Against the live run: the same lines; payloads differ where the capture redacted a
    # secret (the profile MSG's MSPAuth), which the replayer sends as its placeholder.
    live_ns = [comparable(c, payload=False) for c in recorded_witness.ns]
    assert [comparable(c, payload=False) for c in witness.ns] == live_ns
    (profile,) = [c for c in witness.ns if c.verb == "MSG"]
    assert profile.payload is not None
    assert b"<redacted" in profile.payload
    assert any(c.verb == "CHL" for c in witness.ns)  # the challenge was replayed and answered
