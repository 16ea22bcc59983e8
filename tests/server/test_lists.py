"""Lists, groups, privacy and switchboard errors against the reference server."""

from __future__ import annotations

import trio

from msmgr.server import DEMO_USERS, ServerAddresses, ServerConfig, ServerState
from tests.conftest import start_reference

from .helpers import ScriptedClient, login, online, open_switchboard


async def test_add_and_rem_push_rl_changes(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    alice_account = reference_state.accounts["alice@example.com"]
    bob_account = reference_state.accounts["bob@example.com"]
    alice_account.lists["FL"].remove("bob@example.com")
    bob_account.lists["RL"].remove("alice@example.com")
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 7)
        bob, _ = await online(reference_server, "bob@example.com", 7)
        assert await alice.sync() == []  # bob is not on alice's FL
        trid = await alice.send("ADD", "FL", "bob@example.com", "bob@example.com", "0")
        add = await alice.expect("ADD", trid)
        assert add.args == ("FL", "2", "bob@example.com", "bob@example.com", "0")
        iln = await alice.expect("ILN", trid)
        assert iln.args == ("NLN", "bob@example.com", "bob@example.com")
        pushed = [c for c in await bob.sync() if c.verb != "CHL"]
        assert [c.line for c in pushed] == ["ADD 0 RL 2 alice@example.com alice@example.com"]
        trid = await alice.send("ADD", "FL", "bob@example.com", "bob@example.com", "0")
        await alice.expect("215", trid)
        trid = await alice.send("ADD", "FL", "nobody@example.com", "x", "0")
        await alice.expect("205", trid)
        trid = await alice.send("ADD", "FL", "not", "a", "handle", "x", "0")  # (a bad handle)
        await alice.expect("201", trid)
        trid = await alice.send("REM", "FL", "bob@example.com")
        assert (await alice.expect("REM", trid)).args == ("FL", "3", "bob@example.com")
        assert [c.line for c in await bob.sync()] == ["REM 0 RL 3 alice@example.com"]
        trid = await alice.send("REM", "FL", "bob@example.com")
        await alice.expect("216", trid)
    assert "bob@example.com" not in alice_account.lists["FL"]
    assert "alice@example.com" not in bob_account.lists["RL"]


async def test_groups_msnp7(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    with trio.fail_after(10):
        alice, _ = await login(reference_server, "alice@example.com", "alice-password", 7)
        trid = await alice.send("ADG", "Friends", "0")
        assert (await alice.expect("ADG", trid)).args == ("2", "Friends", "1", "0")
        trid = await alice.send("ADD", "FL", "bob@example.com", "bob@example.com", "1")
        await alice.expect("ADD", trid)
        trid = await alice.send("REG", "1", "Best%20Friends", "0")
        assert (await alice.expect("REG", trid)).args == ("4", "1", "Best%20Friends", "0")
        trid = await alice.send("RMG", "0")
        await alice.expect("230", trid)
        trid = await alice.send("RMG", "7")
        await alice.expect("224", trid)
        assert reference_state.accounts["alice@example.com"].fl_groups["bob@example.com"] == [0, 1]
        trid = await alice.send("RMG", "1")
        assert (await alice.expect("RMG", trid)).args == ("5", "1")
    assert reference_state.accounts["alice@example.com"].fl_groups["bob@example.com"] == [0]


async def test_groups_are_not_msnp5(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        alice, _ = await login(reference_server, "alice@example.com", "alice-password", 5)
        trid = await alice.send("ADG", "Friends", "0")
        await alice.expect("200", trid)


async def test_block_list_hides_presence_and_refuses_calls(
    reference_server: ServerAddresses,
) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 8)
        bob, _ = await online(reference_server, "bob@example.com", 8)
        await alice.sync()
        trid = await alice.send("REM", "AL", "bob@example.com")
        await alice.expect("REM", trid)
        trid = await alice.send("ADD", "BL", "bob@example.com", "bob@example.com")
        await alice.expect("ADD", trid)
        assert [c.line for c in await bob.sync() if c.verb != "CHL"] == ["FLN alice@example.com"]
        trid = await alice.send("ADD", "AL", "bob@example.com", "bob@example.com")
        await alice.expect("219", trid)
        # bob cannot call alice
        sb, _ = await open_switchboard(bob, "bob@example.com")
        trid = await sb.send("CAL", "alice@example.com")
        await sb.expect("216", trid)
        trid = await sb.send("CAL", "bob@example.com")
        await sb.expect("215", trid)
        trid = await sb.send("CAL", "nobody@example.com")
        await sb.expect("217", trid)
        trid = await sb.send("CAL", "carol@example.com")  # offline
        await sb.expect("217", trid)
        trid = await sb.send("CAL", "bad", "handle")  # (a bad handle)
        await sb.expect("208", trid)
        # unblocking brings alice back
        nln = "NLN NLN alice@example.com alice@example.com 268435492"
        trid = await alice.send("REM", "BL", "bob@example.com")
        await alice.expect("REM", trid)
        assert [c.line for c in await bob.sync()] == [nln]  # on neither list, BLP AL
        trid = await alice.send("BLP", "BL")
        await alice.expect("BLP", trid)
        assert [c.line for c in await bob.sync()] == ["FLN alice@example.com"]
        trid = await alice.send("BLP", "AL")
        await alice.expect("BLP", trid)
        assert [c.line for c in await bob.sync()] == [nln]


async def test_rea_and_gtc(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 7)
        bob, _ = await online(reference_server, "bob@example.com", 2)
        await alice.sync()
        trid = await alice.send("REA", "alice@example.com", "Alice%20A.")
        assert (await alice.expect("REA", trid)).args[1:] == ("alice@example.com", "Alice%20A.")
        assert [c.line for c in await bob.sync()] == ["NLN NLN alice@example.com Alice%20A."]
        trid = await alice.send("REA", "bob@example.com", "x")
        await alice.expect("201", trid)
        trid = await alice.send("GTC", "N")
        await alice.expect("GTC", trid)
        trid = await alice.send("GTC", "N")
        await alice.expect("218", trid)


async def test_xfr_sb_needs_a_visible_status(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        alice, _ = await login(reference_server, "alice@example.com", "alice-password", 5)
        trid = await alice.send("XFR", "SB")
        await alice.expect("913", trid)
        trid = await alice.send("CHG", "HDN")
        await alice.expect("CHG", trid)
        trid = await alice.send("XFR", "SB")
        await alice.expect("913", trid)


async def test_switchboard_rejects_bad_cookie(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        sb = await ScriptedClient.connect(reference_server.sb)
        trid = await sb.send("USR", "alice@example.com", "1.2.3")
        await sb.expect("911", trid)
        assert await sb.closed()


async def test_no_qry_in_time_disconnects(
    nursery: trio.Nursery, scripted_clients: list[ScriptedClient]
) -> None:
    state = ServerState.from_users(dict(DEMO_USERS))
    addrs = await start_reference(nursery, ServerConfig(chl_timeout=0.2), state)
    with trio.fail_after(10):
        alice, seen = await online(addrs, "alice@example.com", 7)
        assert [c.verb for c in seen] == ["CHL"]
        assert await alice.closed()
    assert state.internal_errors == 0


async def test_challenge_interval_repeats(
    nursery: trio.Nursery, scripted_clients: list[ScriptedClient]
) -> None:
    state = ServerState.from_users(dict(DEMO_USERS))
    addrs = await start_reference(nursery, ServerConfig(challenge_interval=0.01), state)
    from msmgr.codec import challenge_md5

    with trio.fail_after(10):
        alice, seen = await online(addrs, "alice@example.com", 8)
        chl = seen[-1]
        for _ in range(3):
            trid = await alice.send(
                "QRY", "msmsgs@msnmsgr.com", payload=challenge_md5(chl.args[0]).encode()
            )
            await alice.expect("QRY", trid)
            chl = await alice.expect("CHL")


async def test_slow_reader_is_dropped_without_stalling_the_sender(
    nursery: trio.Nursery, scripted_clients: list[ScriptedClient]
) -> None:
    state = ServerState.from_users(dict(DEMO_USERS))
    addrs = await start_reference(nursery, ServerConfig(send_queue=4), state)
    with trio.fail_after(20):
        alice, _ = await online(addrs, "alice@example.com", 5)
        bob, _ = await online(addrs, "bob@example.com", 5)
        await alice.sync()
        sb_a, _ = await open_switchboard(alice, "alice@example.com")
        await alice.sync()
        trid = await sb_a.send("CAL", "bob@example.com")
        await sb_a.expect("CAL", trid)
        rng = await bob.expect("RNG")
        sb_b = await ScriptedClient.connect(addrs.sb)
        await sb_b.send("ANS", "bob@example.com", rng.args[3], rng.args[0])
        await sb_b.expect("IRO")
        await sb_b.expect("ANS")
        await sb_a.expect("JOI")
        # bob never reads again; alice keeps sending until bob is dropped
        chunk = b"x" * 60000
        bye = None
        for _ in range(2000):
            trid = await sb_a.send("MSG", "U", payload=chunk)
            if len(state.switchboards[int(rng.args[0])].participants) == 1:
                bye = await sb_a.expect("BYE")
                break
        assert bye is not None
        assert bye.args == ("bob@example.com",)
        trid = await alice.send("SYN", "1")  # alice's other connection is fine too
        await alice.expect("SYN", trid)


async def test_prp_and_bpr_in_sync(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        bob, _ = await login(reference_server, "bob@example.com", "bob-password", 7)
        trid = await bob.send("PRP", "PHH", "555%20123")
        assert (await bob.expect("PRP", trid)).args == ("2", "PHH", "555%20123")
        trid = await bob.send("PRP", "XXX", "1")
        await bob.expect("201", trid)
        trid = await bob.send("SYN", "0")
        own = [c.line for c in await bob.sync() if c.verb == "PRP"]
        assert own == [f"PRP {trid} 2 PHH 555%20123"]
        alice7, _ = await login(reference_server, "alice@example.com", "alice-password", 7)
        await alice7.send("SYN", "0")
        bpr = [c.line for c in await alice7.sync() if c.verb == "BPR"]
        assert bpr == ["BPR 1 bob@example.com PHH 555%20123"]
        alice8, _ = await login(reference_server, "alice@example.com", "alice-password", 8)
        await alice8.send("SYN", "0")
        lines = [c.line for c in await alice8.sync()]
        assert lines[lines.index("BPR PHH 555%20123") - 1].startswith("LST bob@example.com ")
