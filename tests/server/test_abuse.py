"""The reference server under abuse: single-use tickets, bounded secrets, slowed guessing,
and CAL floods that cost the flooder, not the callee."""

from __future__ import annotations

import time

import trio

from msmgr.codec import login_hash
from msmgr.server import DEMO_USERS, ServerAddresses, ServerConfig, ServerState
from msmgr.server.limits import (
    CAL_BURST,
    CAL_REFUSALS,
    FAILURES_PER_CONNECTION,
    SB_COOKIES_PER_ACCOUNT,
    LoginThrottle,
)
from msmgr.server.state import COOKIE_LIFETIME
from tests.conftest import start_reference

from .helpers import ScriptedClient, hello, login, online, open_switchboard
from .passport import passport_ticket


async def twn_challenge(addrs: ServerAddresses, email: str) -> tuple[ScriptedClient, str]:
    ns = await ScriptedClient.connect(addrs.ns)
    await hello(ns, 8)
    trid = await ns.send("USR", "TWN", "I", email)
    return ns, (await ns.expect("USR", trid)).args[2]


async def test_a_passport_ticket_logs_in_once(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        ns, challenge = await twn_challenge(reference_server, "alice@example.com")
        ticket = await passport_ticket(
            reference_server.nexus_url, "alice@example.com", "alice-password", challenge
        )
        assert ticket is not None
        trid = await ns.send("USR", "TWN", "S", ticket)
        await ns.expect("USR", trid)
        again, _ = await twn_challenge(reference_server, "alice@example.com")
        trid = await again.send("USR", "TWN", "S", ticket)
        await again.expect("911", trid)


async def test_failed_logins_close_the_ns_connection(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        ns = await ScriptedClient.connect(reference_server.ns)
        await hello(ns, 5)
        for _ in range(FAILURES_PER_CONNECTION):
            trid = await ns.send("USR", "MD5", "I", "alice@example.com")
            salt = (await ns.expect("USR", trid)).args[2]
            trid = await ns.send("USR", "MD5", "S", login_hash(salt, "wrong"))
            await ns.expect("911", trid)
        assert await ns.closed()


async def test_guessing_is_counted_per_account_and_address_then_held(
    nursery: trio.Nursery, scripted_clients: list[ScriptedClient]
) -> None:
    state = ServerState.from_users(dict(DEMO_USERS))
    state.logins = LoginThrottle(free=3, delay=3600.0)
    addrs = await start_reference(nursery, ServerConfig(), state)
    with trio.fail_after(10):
        for password in ("wrong", "also wrong"):
            assert await passport_ticket(addrs.nexus_url, "bob@example.com", password, "") is None
        _, reply = await login(addrs, "carol@example.com", "wrong", 5)  # MD5 counts too
        assert reply.verb == "911"
    assert state.logins.failures("account:bob@example.com") == 2
    assert state.logins.failures("account:carol@example.com") == 1
    assert state.logins.failures("address:127.0.0.1") == 3
    # from this address every attempt now waits (an hour here), the right password too
    with trio.move_on_after(1) as held:
        await passport_ticket(addrs.nexus_url, "alice@example.com", "alice-password", "")
    assert held.cancelled_caught
    assert state.internal_errors == 0


async def test_unused_switchboard_cookies_stay_bounded(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 8)
        cookies = []
        for _ in range(SB_COOKIES_PER_ACCOUNT * 3):
            trid = await alice.send("XFR", "SB")
            cookies.append((await alice.expect("XFR", trid)).args[3])
        assert len(reference_state.sb_cookies) == SB_COOKIES_PER_ACCOUNT
        first, last = cookies[0], cookies[-1]
        assert not reference_state.sb_cookies.holds("alice@example.com", first)
        assert reference_state.sweep(time.monotonic() + COOKIE_LIFETIME) == SB_COOKIES_PER_ACCOUNT
        sb = await ScriptedClient.connect(reference_server.sb)
        trid = await sb.send("USR", "alice@example.com", last)
        await sb.expect("911", trid)  # swept: expired cookies are gone


async def test_the_server_sweeps_by_itself(
    nursery: trio.Nursery, scripted_clients: list[ScriptedClient]
) -> None:
    state = ServerState.from_users(dict(DEMO_USERS))
    long_ago = time.monotonic() - 10 * COOKIE_LIFETIME
    state.sb_cookies.issue("alice@example.com", "1.2.3", long_ago)
    state.tickets.issue("alice@example.com", "t=x&p=y", long_ago)
    state.logins.failed(("address:10.0.0.1",), long_ago - state.logins.forget)
    await start_reference(nursery, ServerConfig(sweep_interval=0.01), state)
    with trio.fail_after(5):
        while len(state.sb_cookies) + len(state.tickets) + len(state.logins):  # noqa: ASYNC110
            await trio.sleep(0.01)


async def call(sb: ScriptedClient, email: str) -> str:
    trid = await sb.send("CAL", email)
    reply = await sb.recv()
    assert reply.trid == trid, reply.line
    return reply.verb


async def test_a_cal_flood_is_refused_and_closed_and_the_callee_stays(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 5)
        bob, _ = await online(reference_server, "bob@example.com", 5)
        await alice.expect("NLN")  # bob came online
        sb, reply = await open_switchboard(alice, "alice@example.com")
        assert reply.args[0] == "OK"
        replies = [await call(sb, "bob@example.com") for _ in range(CAL_BURST + CAL_REFUSALS)]
        assert replies.count("CAL") >= CAL_BURST
        assert replies[-1] == "713"
        assert await sb.closed()
        rung = [c.verb for c in await bob.sync()]
        assert rung == ["RNG"] * replies.count("CAL")
        assert reference_state.online("bob@example.com") is not None


async def test_a_callee_that_does_not_read_is_not_rung(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 5)
        bob, _ = await online(reference_server, "bob@example.com", 5)
        await alice.expect("NLN")  # bob came online
        outbox = reference_state.sessions["bob@example.com"].outbox
        outbox.room = lambda: 0  # type: ignore[method-assign]  # bob's queue looks full
        sb, _ = await open_switchboard(alice, "alice@example.com")
        assert await call(sb, "bob@example.com") == "713"
        assert await bob.sync() == []
        assert reference_state.online("bob@example.com") is not None
