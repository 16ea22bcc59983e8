"""MSNP11 (MSN 7.0) and MSNP12 (MSN 7.5) against the reference server: the newer CHL,
UUX/UBX personal messages, GCF, SBS, and client capabilities on IRO/JOI."""

from __future__ import annotations

import pytest
import trio

from msmgr.codec import MSNP6_KEY, MSNP11_KEY, Command, challenge_md5, challenge_msnp11
from msmgr.server import ServerAddresses, ServerState
from msmgr.server.formats import SHIELDS_XML

from .helpers import answer_call, login, online, open_switchboard

ALICE, BOB = "alice@example.com", "bob@example.com"
PSM = b"<Data><PSM>at the beach</PSM><CurrentMedia></CurrentMedia></Data>"


def without_chl(lines: list[Command]) -> list[Command]:
    return [c for c in lines if c.verb != "CHL"]


@pytest.mark.parametrize("version", [11, 12])
async def test_msnp11_challenge_right_and_wrong(
    reference_server: ServerAddresses, version: int
) -> None:
    with trio.fail_after(10):
        alice, seen = await online(reference_server, ALICE, version)
        chl = next(c for c in seen if c.verb == "CHL").args[0]
        answer = challenge_msnp11(chl, MSNP11_KEY).encode()
        trid = await alice.send("QRY", MSNP11_KEY.product_id, payload=answer)
        assert (await alice.expect("QRY", trid)).args == ()
        for product, payload in [
            (MSNP11_KEY.product_id, b"0" * 32),  # wrong digest
            (MSNP6_KEY.product_id, None),  # the MSNP6-10 scheme is not MSNP11's
            ("PROD0000NOTAKEY!", None),  # unknown product id
        ]:
            bob, seen = await online(reference_server, BOB, version)
            chl = next(c for c in seen if c.verb == "CHL").args[0]
            if payload is None:
                payload = challenge_md5(chl, MSNP6_KEY.private_key).encode()
            trid = await bob.send("QRY", product, payload=payload)
            await bob.expect("540", trid)
            assert await bob.closed()


async def test_msnp10_still_answers_the_md5_challenge(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        alice, seen = await online(reference_server, ALICE, 10)
        chl = next(c for c in seen if c.verb == "CHL").args[0]
        trid = await alice.send("QRY", MSNP6_KEY.product_id, payload=challenge_md5(chl).encode())
        await alice.expect("QRY", trid)


async def test_uux_is_pushed_as_ubx_to_msnp11_watchers(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, ALICE, 11)
        bob11, _ = await online(reference_server, BOB, 11)
        carol10, _ = await online(reference_server, "carol@example.com", 10)
        for client in (alice, bob11):
            await client.sync()  # the NLNs of the later logins
        trid = await alice.send("UUX", payload=PSM)
        reply = await alice.expect("UUX", trid)
        assert reply.payload == b""
        assert reply.to_bytes() == f"UUX {trid} 0\r\n".encode()
        assert reference_state.accounts[ALICE].personal == PSM
        ubx = without_chl(await bob11.sync())
        assert [(c.verb, c.args, c.payload) for c in ubx] == [("UBX", (ALICE,), PSM)]
        assert ubx[0].to_bytes() == f"UBX {ALICE} {len(PSM)}\r\n".encode() + PSM
        assert without_chl(await carol10.sync()) == []  # UBX is MSNP11+
        # a watcher logging in gets it after the ILNs of its first CHG
        await bob11.aclose()
        await alice.sync()
        bob11, seen = await online(reference_server, BOB, 12)
        seen = without_chl(seen)
        assert [c.verb for c in seen] == ["ILN", "ILN", "UBX"]
        assert (seen[2].args, seen[2].payload) == ((ALICE,), PSM)
        # and a watcher sees it when the account comes online again
        await alice.aclose()
        assert [c.line for c in without_chl(await bob11.sync())] == [f"FLN {ALICE}"]
        alice, _ = await online(reference_server, ALICE, 11)
        back = without_chl(await bob11.sync())
        assert [c.verb for c in back] == ["NLN", "UBX"]
        assert back[1].payload == PSM


async def test_adc_shows_the_new_contacts_personal_message(
    reference_server: ServerAddresses, reference_state: ServerState
) -> None:
    reference_state.accounts[ALICE].lists["FL"].remove(BOB)
    guid = reference_state.accounts[ALICE].contact_guid(BOB)
    with trio.fail_after(10):
        bob, _ = await online(reference_server, BOB, 12)
        trid = await bob.send("UUX", payload=PSM)
        await bob.expect("UUX", trid)
        alice, _ = await online(reference_server, ALICE, 11)
        trid = await alice.send("ADC", "FL", f"N={BOB}", f"F={BOB}")
        assert (await alice.expect("ADC", trid)).args[-1] == f"C={guid}"
        assert (await alice.expect("ILN", trid)).args[1] == BOB
        ubx = await alice.expect("UBX")
        assert (ubx.args, ubx.payload) == ((BOB,), PSM)


@pytest.mark.parametrize(
    "payload",
    [b"no xml here", b"<Data><PSM>\xff</PSM></Data>", b"<Data>" + b"x" * 5000 + b"</Data>"],
    ids=["not-data", "not-utf8", "too-long"],
)
async def test_bad_uux_is_201(reference_server: ServerAddresses, payload: bytes) -> None:
    with trio.fail_after(10):
        alice, _ = await login(reference_server, ALICE, "alice-password", 11)
        trid = await alice.send("UUX", payload=payload)
        await alice.expect("201", trid)
        trid = await alice.send("SYN", "0", "0")  # still in step after the payload
        await alice.expect("SYN", trid)


async def test_gcf_shields(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        alice, _ = await login(reference_server, ALICE, "alice-password", 11)
        trid = await alice.send("GCF", "Shields.xml")
        gcf = await alice.expect("GCF", trid)
        assert gcf.args == ("Shields.xml",)
        assert gcf.payload == SHIELDS_XML
        trid = await alice.send("GCF", "Other.xml")
        await alice.expect("201", trid)
        ten, _ = await login(reference_server, BOB, "bob-password", 10)
        trid = await ten.send("GCF", "Shields.xml")
        await ten.expect("200", trid)


@pytest.mark.parametrize(
    ("alice_version", "bob_version"),
    [(12, 12), (12, 9), (9, 12), (11, 11)],
    ids=["12-12", "12-9", "9-12", "11-11"],
)
async def test_switchboard_caps_on_iro_and_joi(
    reference_server: ServerAddresses, alice_version: int, bob_version: int
) -> None:
    alice_caps, bob_caps = "1342554172", "1073791084"
    with trio.fail_after(10):
        alice, _ = await online(reference_server, ALICE, alice_version, client_id=alice_caps)
        bob, _ = await online(reference_server, BOB, bob_version, client_id=bob_caps)
        await alice.sync()
        sb_a, usr = await open_switchboard(alice, ALICE)
        assert usr.args == ("OK", ALICE, ALICE)
        sb_b = await answer_call(sb_a, bob, BOB, reference_server)
        iro = await sb_b.expect("IRO")
        shown_alice = (alice_caps,) if bob_version >= 12 else ()
        assert iro.args == ("1", "1", ALICE, ALICE, *shown_alice)
        await sb_b.expect("ANS")
        joi = await sb_a.expect("JOI")
        shown_bob = (bob_caps,) if alice_version >= 12 else ()
        assert joi.args == (BOB, BOB, *shown_bob)
        await sb_b.send("OUT")
        assert (await sb_a.expect("BYE")).args == (BOB,)
