"""MSNP10 (MSN 6.1/6.2) against the reference server: ADC/REM by GUID, SYN with
timestamps, groups by GUID, PRP MFN, SBP, and the commands removed (ADD, REA)."""

from __future__ import annotations

import pytest
import trio

from msmgr.codec import Command
from msmgr.server import ServerAddresses, ServerState
from msmgr.server.formats import list_stamp

from .helpers import login, online

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


def without_chl(lines: list[Command]) -> list[str]:
    return [c.line for c in lines if c.verb != "CHL"]


@pytest.mark.parametrize(("version", "network"), [(10, ()), (11, ()), (12, ("1",))])
async def test_login_and_sync_with_timestamps(
    reference_server: ServerAddresses,
    reference_state: ServerState,
    version: int,
    network: tuple[str, ...],
) -> None:
    alice = reference_state.accounts[ALICE]
    g0 = alice.group_guid(0)
    with trio.fail_after(10):
        ns, ok = await login(reference_server, ALICE, "alice-password", version)
        assert ok.args == ("OK", ALICE, "1", "0")  # no friendly name from MSNP10
        trid = await ns.send("SYN", "0", "0")
        lines = await ns.sync()
        stamp = list_stamp(alice.list_version)
        net = " ".join(("11", *network))
        assert [c.line for c in lines] == [
            f"SYN {trid} {stamp} {stamp} 2 1",
            "GTC A",
            "BLP AL",
            f"PRP MFN {ALICE}",
            f"LSG Other%20Contacts {g0}",
            f"LST N={BOB} F={BOB} C={alice.contact_guid(BOB)} {net} {g0}",
            f"LST N={CAROL} F={CAROL} C={alice.contact_guid(CAROL)} {net} {g0}",
        ]
        assert all(c.trid is None for c in lines[1:])
        trid = await ns.send("SYN", stamp, stamp)
        assert [c.line for c in await ns.sync()] == [f"SYN {trid} {stamp} {stamp}"]
        trid = await ns.send("SYN", "0")
        await ns.expect("201", trid)


def test_guids_are_stable_and_distinct(reference_state: ServerState) -> None:
    alice = reference_state.accounts[ALICE]
    bob = reference_state.accounts[BOB]
    assert alice.contact_guid(BOB) == alice.contact_guid(BOB)
    assert alice.contact_guid(BOB) != alice.contact_guid(CAROL)
    assert alice.contact_guid(BOB) != bob.contact_guid(ALICE)
    assert alice.group_guid(0) != bob.group_guid(0)
    assert alice.contact_by_guid(alice.contact_guid(CAROL)) == CAROL
    assert alice.group_by_guid(alice.group_guid(0)) == 0
    assert alice.group_by_guid(bob.group_guid(0)) is None


@pytest.mark.parametrize(
    ("bob_version", "added", "removed"),
    [
        (10, f"ADC 0 RL N={ALICE} F={ALICE}", f"REM 0 RL {ALICE}"),
        (12, f"ADC 0 RL N={ALICE} F={ALICE}", f"REM 0 RL {ALICE}"),
        (9, f"ADD 0 RL 2 {ALICE} {ALICE}", f"REM 0 RL 3 {ALICE}"),
        (7, f"ADD 0 RL 2 {ALICE} {ALICE}", f"REM 0 RL 3 {ALICE}"),
    ],
    ids=["MSNP10", "MSNP12", "MSNP9", "MSNP7"],
)
async def test_adc_and_rem_by_guid_tell_the_contact_in_its_own_form(
    reference_server: ServerAddresses,
    reference_state: ServerState,
    bob_version: int,
    added: str,
    removed: str,
) -> None:
    alice_account = reference_state.accounts[ALICE]
    alice_account.lists["FL"].remove(BOB)
    reference_state.accounts[BOB].lists["RL"].remove(ALICE)
    guid = alice_account.contact_guid(BOB)
    with trio.fail_after(10):
        alice, _ = await online(reference_server, ALICE, 10)
        bob, _ = await online(reference_server, BOB, bob_version)
        assert without_chl(await alice.sync()) == []  # bob is not on alice's FL
        trid = await alice.send("ADC", "FL", f"N={BOB}", "F=Bobby")
        assert (await alice.expect("ADC", trid)).args == ("FL", f"N={BOB}", "F=Bobby", f"C={guid}")
        iln = await alice.expect("ILN", trid)
        assert iln.args[:3] == ("NLN", BOB, BOB)
        assert without_chl(await bob.sync()) == [added]
        assert alice_account.fl_groups[BOB] == [0]
        trid = await alice.send("REM", "FL", guid)
        assert (await alice.expect("REM", trid)).args == ("FL", guid)
        assert [c.line for c in await bob.sync()] == [removed]
    assert BOB not in alice_account.lists["FL"]
    assert ALICE not in reference_state.accounts[BOB].lists["RL"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("FL", "N=nobody@example.com", "F=x"), "208"),
        (("FL", "N=not-a-handle", "F=x"), "201"),
        (("FL", f"N={BOB}", "F=Bob"), "215"),
        (("FL", f"N={ALICE}", "F=me"), "201"),
        (("FL", f"N={CAROL}", "F=" + "x" * 400), "209"),
        (("BL", f"N={BOB}"), "219"),
        (("AL", f"N={BOB}"), "215"),
        (("RL", f"N={BOB}"), "201"),
        (("FL", f"{BOB}", "Bob"), "201"),
        (("AL", f"N={BOB}", "F=Bob"), "201"),
        (("FL", "C=00000000-0000-0000-0000-000000000000", "x"), "216"),
    ],
)
async def test_adc_errors(
    reference_server: ServerAddresses, args: tuple[str, ...], code: str
) -> None:
    with trio.fail_after(10):
        alice, _ = await login(reference_server, ALICE, "alice-password", 10)
        trid = await alice.send("ADC", *args)
        await alice.expect(code, trid)


async def test_allow_and_block_lists_by_handle(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    alice_account = reference_state.accounts[ALICE]
    with trio.fail_after(10):
        alice, _ = await online(reference_server, ALICE, 10)
        bob, _ = await online(reference_server, BOB, 10)
        await alice.sync()
        trid = await alice.send("REM", "AL", BOB)
        assert (await alice.expect("REM", trid)).args == ("AL", BOB)
        trid = await alice.send("ADC", "BL", f"N={BOB}")
        assert (await alice.expect("ADC", trid)).args == ("BL", f"N={BOB}")
        assert without_chl(await bob.sync()) == [f"FLN {ALICE}"]
        trid = await alice.send("REM", "BL", BOB)
        await alice.expect("REM", trid)
        trid = await alice.send("ADC", "AL", f"N={BOB}")
        assert (await alice.expect("ADC", trid)).args == ("AL", f"N={BOB}")
        nln = without_chl(await bob.sync())
        assert nln == [f"NLN NLN {ALICE} {ALICE} 268435492"]
        trid = await alice.send("REM", "BL", BOB)
        await alice.expect("216", trid)
    assert alice_account.on("AL", BOB)
    assert not alice_account.on("BL", BOB)


async def test_groups_by_guid(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    me = reference_state.accounts[ALICE]
    bob = me.contact_guid(BOB)
    with trio.fail_after(10):
        alice, _ = await login(reference_server, ALICE, "alice-password", 10)
        trid = await alice.send("ADG", "Friends")
        adg = await alice.expect("ADG", trid)
        assert adg.args == ("Friends", me.group_guid(1))
        friends = adg.args[1]
        trid = await alice.send("ADC", "FL", f"C={bob}", friends)
        assert (await alice.expect("ADC", trid)).args == ("FL", f"C={bob}", friends)
        trid = await alice.send("ADC", "FL", f"C={bob}", friends)
        await alice.expect("215", trid)
        trid = await alice.send("REG", friends, "Best%20Friends")
        assert (await alice.expect("REG", trid)).args == (friends, "Best%20Friends")
        await alice.send("SYN", "0", "0")
        lines = [c.line for c in await alice.sync()]
        assert f"LSG Best%20Friends {friends}" in lines
        assert f"LST N={BOB} F={BOB} C={bob} 11 {me.group_guid(0)},{friends}" in lines
        for args, code in [
            ((me.group_guid(0),), "230"),
            (("00000000-0000-0000-0000-000000000000",), "224"),
            ((), "201"),
        ]:
            trid = await alice.send("RMG", *args)
            await alice.expect(code, trid)
        trid = await alice.send("REM", "FL", bob, me.group_guid(0))
        assert (await alice.expect("REM", trid)).args == ("FL", bob, me.group_guid(0))
        trid = await alice.send("REM", "FL", bob, me.group_guid(0))
        await alice.expect("225", trid)
        trid = await alice.send("RMG", friends)
        assert (await alice.expect("RMG", trid)).args == (friends,)
        # bob was only in Friends: he stays on the FL, in no group
        await alice.send("SYN", "0", "0")
        lines = [c.line for c in await alice.sync()]
        assert f"LST N={BOB} F={BOB} C={bob} 11" in lines
    assert me.on("FL", BOB)
    assert me.fl_groups[BOB] == []
    assert list(me.groups) == [0]


async def test_prp_mfn_renames_and_rea_add_are_disabled(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, ALICE, 10)
        bob7, _ = await online(reference_server, BOB, 7)
        await alice.sync()
        trid = await alice.send("PRP", "MFN", "Alice%20A.")
        assert (await alice.expect("PRP", trid)).args == ("MFN", "Alice%20A.")
        assert without_chl(await bob7.sync()) == [f"NLN NLN {ALICE} Alice%20A."]
        assert reference_state.accounts[ALICE].name == "Alice%20A."
        trid = await alice.send("PRP", "MFN", "x" * 400)
        await alice.expect("209", trid)
        trid = await alice.send("PRP", "PHH", "555%201234")
        assert (await alice.expect("PRP", trid)).args == ("PHH", "555%201234")
        trid = await alice.send("REA", ALICE, "Nope")
        await alice.expect("502", trid)
        trid = await alice.send("ADD", "FL", CAROL, CAROL, "0")
        await alice.expect("502", trid)
        trid = await alice.send("GTC", "N")
        assert (await alice.expect("GTC", trid)).args == ("N",)
        trid = await alice.send("BLP", "BL")
        assert (await alice.expect("BLP", trid)).args == ("BL",)
        await alice.send("SYN", "0", "0")
        lines = [c.line for c in await alice.sync()]
        assert lines[1:5] == ["GTC N", "BLP BL", "PRP MFN Alice%20A.", "PRP PHH 555%201234"]


async def test_sbp_is_checked_and_echoed(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    guid = reference_state.accounts[ALICE].contact_guid(BOB)
    with trio.fail_after(10):
        alice, _ = await login(reference_server, ALICE, "alice-password", 10)
        trid = await alice.send("SBP", guid, "MFN", "Bobby")
        assert (await alice.expect("SBP", trid)).args == (guid, "MFN", "Bobby")
        trid = await alice.send("SBP", "00000000-0000-0000-0000-000000000000", "MFN", "x")
        await alice.expect("216", trid)
        trid = await alice.send("SBP", guid, "XYZ", "x")
        await alice.expect("201", trid)


@pytest.mark.parametrize(
    ("verb", "args"), [("ADC", ("FL", f"N={BOB}")), ("SBP", ("x", "MFN", "y"))]
)
async def test_msnp10_commands_are_unknown_before_msnp10(
    reference_server: ServerAddresses, verb: str, args: tuple[str, ...]
) -> None:
    with trio.fail_after(10):
        alice, _ = await login(reference_server, ALICE, "alice-password", 9)
        trid = await alice.send(verb, *args)
        await alice.expect("200", trid)
