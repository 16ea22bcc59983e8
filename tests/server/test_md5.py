"""MSNP2-7 (MD5 login) sessions against the reference server over loopback."""

from __future__ import annotations

import pytest
import trio

from msmgr.codec import challenge_md5
from msmgr.server import ServerAddresses, ServerState

from .helpers import ScriptedClient, answer_call, hello, login, ns_address, online, redirect

VERSIONS = [2, 5, 7]


@pytest.mark.parametrize(
    ("version", "tail"), [(2, 0), (3, 1), (6, 1), (7, 2)], ids=["MSNP2", "MSNP3", "MSNP6", "MSNP7"]
)
async def test_dispatch_redirects_in_the_version_form(
    reference_server: ServerAddresses, version: int, tail: int
) -> None:
    with trio.fail_after(10):
        xfr = await redirect(reference_server, "alice@example.com", version)
    assert xfr.args[0] == "NS"
    assert ns_address(xfr) == reference_server.ns
    assert len(xfr.args) == 2 + tail
    if version >= 7:
        assert xfr.args[2:] == ("0", f"{reference_server.ds[0]}:{reference_server.ds[1]}")


@pytest.mark.parametrize("version", VERSIONS)
async def test_login_and_list_sync(reference_server: ServerAddresses, version: int) -> None:
    with trio.fail_after(10):
        ns, ok = await login(reference_server, "alice@example.com", "alice-password", version)
        flags = {2: (), 5: (), 7: ("1",)}[version]
        assert ok.args == ("OK", "alice@example.com", "alice@example.com", *flags)
        trid = await ns.send("SYN", "0")
        lines = await ns.sync()
    assert all(line.trid == trid for line in lines)
    assert lines[0].verb == "SYN"
    assert lines[0].args == ("1",)
    assert [line.args for line in lines if line.verb == "GTC"] == [("1", "A")]
    assert [line.args for line in lines if line.verb == "BLP"] == [("1", "AL")]
    lst = [line.args for line in lines if line.verb == "LST"]
    fl = [args for args in lst if args[0] == "FL"]
    assert [args[4] for args in fl] == ["bob@example.com", "carol@example.com"]
    assert [args[2:4] for args in fl] == [("1", "2"), ("2", "2")]
    assert ("BL", "1", "0", "0") in lst
    assert len([args for args in lst if args[0] == "RL"]) == 2
    lsg = [line.args for line in lines if line.verb == "LSG"]
    if version >= 7:
        assert lsg == [("1", "1", "1", "0", "Other%20Contacts", "0")]
        assert all(args[-1] == "0" for args in fl)
    else:
        assert lsg == []
        assert all(len(args) == 6 for args in fl)
    # up to date: the SYN line alone
    with trio.fail_after(10):
        trid = await ns.send("SYN", "1")
        assert [c.line for c in await ns.sync()] == [f"SYN {trid} 1"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_presence_iln_nln_fln_and_hidden(
    reference_server: ServerAddresses, version: int
) -> None:
    with trio.fail_after(10):
        alice, seen = await online(reference_server, "alice@example.com", version)
        assert [c.verb for c in seen if c.verb != "CHL"] == []
        bob, seen = await online(reference_server, "bob@example.com", version, "BSY")
        iln = [c for c in seen if c.verb == "ILN"]
        assert [(c.trid, c.args) for c in iln] == [
            (bob.trid, ("NLN", "alice@example.com", "alice@example.com"))
        ]
        nln = [c for c in await alice.sync() if c.verb != "CHL"]
        assert [c.line for c in nln] == ["NLN BSY bob@example.com bob@example.com"]
        carol, _ = await online(reference_server, "carol@example.com", version, "HDN")
        assert [c for c in await alice.sync() if c.verb != "CHL"] == []
        await bob.send_line(b"OUT\r\n")
        await bob.expect("OUT")
        assert await bob.closed()
        assert [c.line for c in await alice.sync()] == ["FLN bob@example.com"]
        assert [c.line for c in await carol.sync() if c.verb != "CHL"] == ["FLN bob@example.com"]
        await carol.send("CHG", "NLN")
        await carol.expect("CHG")
        assert [c.line for c in await alice.sync()] == [
            "NLN NLN carol@example.com carol@example.com"
        ]
        await carol.aclose()
        assert [c.line for c in await alice.sync()] == ["FLN carol@example.com"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_wrong_password_is_911(reference_server: ServerAddresses, version: int) -> None:
    with trio.fail_after(10):
        _ns, reply = await login(reference_server, "alice@example.com", "wrong", version)
        assert reply.verb == "911"
        _, reply = await login(reference_server, "nobody@example.com", "x", version)
        assert reply.verb == "911"


async def test_three_participant_switchboard(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 7)
        bob, _ = await online(reference_server, "bob@example.com", 2)
        carol, _ = await online(reference_server, "carol@example.com", 5)
        await alice.sync()
        await bob.sync()

        trid = await alice.send("XFR", "SB")
        xfr = await alice.expect("XFR", trid)
        assert xfr.args[0] == "SB"
        assert xfr.args[2] == "CKI"
        assert ns_address(xfr) == reference_server.sb
        sb_a = await ScriptedClient.connect(ns_address(xfr))
        trid = await sb_a.send("USR", "alice@example.com", xfr.args[3])
        assert (await sb_a.expect("USR", trid)).args == (
            "OK",
            "alice@example.com",
            "alice@example.com",
        )

        sb_b = await answer_call(sb_a, bob, "bob@example.com", reference_server)
        iro = await sb_b.expect("IRO")
        assert iro.args == ("1", "1", "alice@example.com", "alice@example.com")
        await sb_b.expect("ANS")
        assert (await sb_a.expect("JOI")).args == ("bob@example.com", "bob@example.com")

        sb_c = await answer_call(sb_a, carol, "carol@example.com", reference_server)
        iros = [(await sb_c.expect("IRO")).args for _ in range(2)]
        assert sorted(args[2] for args in iros) == ["alice@example.com", "bob@example.com"]
        assert all(args[1] == "2" for args in iros)
        assert (await sb_c.expect("ANS")).args == ("OK",)
        assert (await sb_a.expect("JOI")).args[0] == "carol@example.com"
        assert (await sb_b.expect("JOI")).args[0] == "carol@example.com"
        assert len(reference_state.switchboards) == 1

        body = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhi \xc3\xa9"
        trid = await sb_a.send("MSG", "A", payload=body)
        await sb_a.expect("ACK", trid)
        for peer in (sb_b, sb_c):
            msg = await peer.expect("MSG")
            assert msg.args == ("alice@example.com", "alice@example.com")
            assert msg.payload == body
        trid = await sb_b.send("MSG", "N", payload=b"typing")
        for peer in (sb_a, sb_c):
            assert (await peer.expect("MSG")).payload == b"typing"

        await sb_c.send_line(b"OUT\r\n")
        assert await sb_c.closed()
        assert (await sb_a.expect("BYE")).args == ("carol@example.com",)
        assert (await sb_b.expect("BYE")).args == ("carol@example.com",)
        await sb_a.aclose()
        assert (await sb_b.expect("BYE")).args == ("alice@example.com",)
        trid = await sb_b.send("MSG", "A", payload=b"alone")
        await sb_b.expect("NAK", trid)
        await sb_b.aclose()
        await trio.testing.wait_all_tasks_blocked()
        assert reference_state.switchboards == {}


@pytest.mark.parametrize("version", [6, 7])
async def test_challenge_right_and_wrong(reference_server: ServerAddresses, version: int) -> None:
    with trio.fail_after(10):
        alice, seen = await online(reference_server, "alice@example.com", version)
        chl = [c for c in seen if c.verb == "CHL"]
        assert len(chl) == 1
        assert chl[0].trid == 0
        assert len(chl[0].args[0]) == 20
        answer = challenge_md5(chl[0].args[0]).encode()
        trid = await alice.send("QRY", "msmsgs@msnmsgr.com", payload=answer)
        assert (await alice.expect("QRY", trid)).args == ()

        bob, seen = await online(reference_server, "bob@example.com", version)
        trid = await bob.send("QRY", "msmsgs@msnmsgr.com", payload=b"0" * 32)
        await bob.expect("540", trid)
        assert await bob.closed()
        # alice is still served
        assert [c.line for c in await alice.sync()] == [
            "NLN NLN bob@example.com bob@example.com",
            "FLN bob@example.com",
        ]
        trid = await alice.send("SYN", "1")
        await alice.expect("SYN", trid)


async def test_no_challenge_before_msnp6(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        _, seen = await online(reference_server, "alice@example.com", 5)
    assert [c for c in seen if c.verb == "CHL"] == []


async def test_ver_without_common_version(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        ds = await ScriptedClient.connect(reference_server.ds)
        trid = await ds.send("VER", "MSNP1", "MSNP15", "CVR0")
        assert (await ds.expect("VER", trid)).args == ("0",)
        assert await ds.closed()


@pytest.mark.parametrize(
    ("offer", "chosen"),
    [
        (("MSNP5", "MSNP13", "MSNP7", "MSNP3"), "MSNP7"),
        (("MSNP9", "MSNP12", "MSNP15", "MSNP11"), "MSNP12"),
        (("MSNP18", "MSNP10", "MSNP9"), "MSNP10"),
    ],
)
async def test_ver_picks_the_highest_common_version(
    reference_server: ServerAddresses, offer: tuple[str, ...], chosen: str
) -> None:
    with trio.fail_after(10):
        ns = await ScriptedClient.connect(reference_server.ns)
        trid = await ns.send("VER", *offer, "CVR0")
        assert (await ns.expect("VER", trid)).args == (chosen,)


async def test_garbage_line_closes_only_that_client(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 7)
        bad = await ScriptedClient.connect(reference_server.ns)
        await hello(bad, 7)
        await bad.send_line(b"this is not msnp\r\n")
        assert (await bad.expect("200")).trid == 0
        assert await bad.closed()
        unknown = await ScriptedClient.connect(reference_server.ns)
        await hello(unknown, 7)
        trid = await unknown.send("ZZZ", "1")
        await unknown.expect("200", trid)
        trid = await unknown.send("SYN", "0")
        await unknown.expect("715", trid)
        trid = await alice.send("SYN", "1")
        await alice.expect("SYN", trid)
        bob, _ = await online(reference_server, "bob@example.com", 2)
        await bob.aclose()
