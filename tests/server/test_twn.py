"""MSNP8 (Passport 1.4 "Tweener" login) sessions and the Passport HTTP endpoints."""

from __future__ import annotations

from urllib.parse import quote

import trio

from msmgr.codec import challenge_md5
from msmgr.server import ServerAddresses, ServerState

from .helpers import (
    ALICE_BURST_MSNP8,
    ScriptedClient,
    answer_call,
    hello,
    login,
    ns_address,
    online,
    open_switchboard,
    redirect,
)
from .passport import http_get, passport_fields, passport_ticket


async def test_dispatch_redirect_msnp8(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        xfr = await redirect(reference_server, "alice@example.com", 8)
    ds = f"{reference_server.ds[0]}:{reference_server.ds[1]}"
    assert xfr.args[2:] == ("0", ds)
    assert ns_address(xfr) == reference_server.ns


async def test_twn_login_challenge_string(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        ns = await ScriptedClient.connect(reference_server.ns)
        await hello(ns, 8)
        trid = await ns.send("USR", "TWN", "I", "alice@example.com")
        reply = await ns.expect("USR", trid)
    assert reply.args[:2] == ("TWN", "S")
    fields = dict(part.split("=", 1) for part in reply.args[2].split(","))
    assert list(fields) == ["lc", "id", "tw", "fs", "ru", "ct", "kpp", "kv", "ver", "tpf"]
    assert (fields["lc"], fields["id"], fields["kv"], fields["ver"]) == (
        "1033",
        "507",
        "5",
        "2.1.0173.1",
    )


async def test_msnp8_login_sync_and_presence(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    with trio.fail_after(10):
        ns, ok = await login(reference_server, "alice@example.com", "alice-password", 8)
        assert ok.args == ("OK", "alice@example.com", "alice@example.com", "1", "0")
        trid = await ns.send("SYN", "0")
        lines = await ns.sync()
        assert [c.line for c in lines] == [f"SYN {trid} 1 2 1", *ALICE_BURST_MSNP8]
        assert lines[3].trid is None  # the client framer knows LSG has no TrID in MSNP8
        trid = await ns.send("CHG", "NLN", "268435492")
        assert (await ns.expect("CHG", trid)).args == ("NLN", "268435492")
        assert reference_state.sessions["alice@example.com"].client_id == 268435492
        seen = await ns.sync()
        chl = [c for c in seen if c.verb == "CHL"]
        assert len(chl) == 1
        bob, _ = await online(reference_server, "bob@example.com", 8, "AWY")
        nln = [c.line for c in await ns.sync()]
        assert nln == ["NLN AWY bob@example.com bob@example.com 268435492"]
        trid = await ns.send(
            "QRY", "msmsgs@msnmsgr.com", payload=challenge_md5(chl[0].args[0]).encode()
        )
        await ns.expect("QRY", trid)
        await bob.aclose()
        assert [c.line for c in await ns.sync()] == ["FLN bob@example.com"]


async def test_msnp8_accepts_the_other_msnp6_to_10_key_pairs(
    reference_server: ServerAddresses,
) -> None:
    with trio.fail_after(10):
        ns, seen = await online(reference_server, "alice@example.com", 8)
        chl = next(c for c in seen if c.verb == "CHL")
        payload = challenge_md5(chl.args[0], "VT6PX?UQTM4WM%YR").encode()
        trid = await ns.send("QRY", "PROD0038W!61ZTF9", payload=payload)
        await ns.expect("QRY", trid)


async def test_bad_ticket_and_bad_password_are_911(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        _, reply = await login(reference_server, "alice@example.com", "wrong", 8)
        assert reply.verb == "911"
        # a ticket issued for bob does not log in alice
        ns = await ScriptedClient.connect(reference_server.ns)
        await hello(ns, 8)
        trid = await ns.send("USR", "TWN", "I", "alice@example.com")
        challenge = (await ns.expect("USR", trid)).args[2]
        ticket = await passport_ticket(
            reference_server.nexus_url, "bob@example.com", "bob-password", challenge
        )
        assert ticket is not None
        trid = await ns.send("USR", "TWN", "S", ticket)
        await ns.expect("911", trid)


async def test_md5_is_refused_in_msnp8(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        ns = await ScriptedClient.connect(reference_server.ns)
        await hello(ns, 8)
        trid = await ns.send("USR", "MD5", "I", "alice@example.com")
        await ns.expect("911", trid)
        trid = await ns.send("INF")
        assert await ns.closed()  # INF is not MSNP8


async def test_second_login_gets_out_oth(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        first, _ = await online(reference_server, "alice@example.com", 8)
        watcher, _ = await online(reference_server, "bob@example.com", 8)
        await first.sync()
        second, _ = await online(reference_server, "alice@example.com", 7)
        lines = [c.line for c in await first.sync_or_closed()]
        assert lines[-1] == "OUT OTH"
        # bob saw alice go offline with the old session and come back with the new one
        assert [c.line for c in await watcher.sync()] == [
            "FLN alice@example.com",
            "NLN NLN alice@example.com alice@example.com 0",
        ]
        trid = await second.send("SYN", "1")
        await second.expect("SYN", trid)


async def test_msnp8_switchboard_with_an_msnp2_peer(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 8)
        bob, _ = await online(reference_server, "bob@example.com", 2)
        await alice.sync()
        sb_a, _ = await open_switchboard(alice, "alice@example.com")
        sb_b = await answer_call(sb_a, bob, "bob@example.com", reference_server)
        await sb_b.expect("IRO")
        await sb_b.expect("ANS")
        await sb_a.expect("JOI")
        trid = await sb_b.send("MSG", "D", payload=b"\x00\x01binary\r\n")
        await sb_b.expect("ACK", trid)
        assert (await sb_a.expect("MSG")).payload == b"\x00\x01binary\r\n"


async def test_nexus_and_login_endpoints(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    host, port = reference_server.http
    with trio.fail_after(10):
        status, headers = await http_get(host, port, "/rdr/pprdr.asp", [])
        assert status == 200
        urls = dict(p.split("=", 1) for p in headers["passporturls"].split(","))
        assert urls["DARealm"] == "Passport.Net"
        assert urls["DALogin"] == f"{host}:{port}/login2.srf"
        auth = (
            "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,"
            f"sign-in={quote('carol@example.com')},pwd={quote('carol-password')},lc=1033"
        )
        status, headers = await http_get(host, port, "/login2.srf", [("Authorization", auth)])
        assert status == 200
        fields = passport_fields(headers["authentication-info"])
        assert fields["da-status"] == "success"
        ticket = fields["from-PP"].strip("'")
        assert ticket.startswith("t=")
        assert "&p=" in ticket
        assert reference_state.tickets.holds("carol@example.com", ticket)
        status, headers = await http_get(
            host, port, "/login2.srf", [("Authorization", auth.replace("carol-password", "x"))]
        )
        assert status == 401
        assert passport_fields(headers["www-authenticate"])["da-status"] == "failed"
        status, _ = await http_get(host, port, "/login2.srf", [])
        assert status == 401
        status, _ = await http_get(host, port, "/nothing", [])
        assert status == 404


async def test_bad_http_gets_400_and_server_keeps_serving(
    reference_server: ServerAddresses,
) -> None:
    host, port = reference_server.http
    with trio.fail_after(10):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(b"this is not http\r\n\r\n")
            data = b""
            while chunk := await stream.receive_some(4096):
                data += chunk
        assert data.startswith(b"HTTP/1.1 400 ")
        status, _ = await http_get(host, port, "/rdr/pprdr.asp", [])
        assert status == 200
