"""MSNP9 (MSN 6.0) against the reference server: QNG 50, MSNObjects, PAG/PGD, MSG D."""

from __future__ import annotations

import pytest
import trio

from msmgr.codec import Command
from msmgr.server import ServerAddresses, ServerState

from .helpers import ALICE_BURST_MSNP8, CLIENT_ID, answer_call, login, online, open_switchboard

MSNOBJ = (
    "%3Cmsnobj%20Creator%3D%22alice%40example.com%22%20Size%3D%2221%22%20Type%3D%223%22"
    "%20Location%3D%22TFR2C.tmp%22%20Friendly%3D%22AAA%3D%22%20SHA1D%3D%22x%22%2F%3E"
)


def without_chl(lines: list[Command]) -> list[str]:
    return [c.line for c in lines if c.verb != "CHL"]


async def test_msnp9_login_sync_and_qng(reference_server: ServerAddresses) -> None:
    with trio.fail_after(10):
        ns, ok = await login(reference_server, "alice@example.com", "alice-password", 9)
        assert ok.args == ("OK", "alice@example.com", "alice@example.com", "1", "0")
        trid = await ns.send("SYN", "0")
        lines = await ns.sync()
        assert [c.line for c in lines] == [f"SYN {trid} 1 2 1", *ALICE_BURST_MSNP8]
        await ns.commands.send(Command("PNG"))
        assert (await ns.expect("QNG")).args == ("50",)


@pytest.mark.parametrize(
    ("watcher_version", "shown"),
    [(9, (CLIENT_ID, MSNOBJ)), (12, (CLIENT_ID, MSNOBJ)), (8, (CLIENT_ID,)), (7, ())],
    ids=["MSNP9", "MSNP12", "MSNP8", "MSNP7"],
)
async def test_msnobj_is_kept_and_relayed_in_iln_and_nln(
    reference_server: ServerAddresses,
    reference_state: ServerState,
    watcher_version: int,
    shown: tuple[str, ...],
) -> None:
    with trio.fail_after(10):
        alice, seen = await online(reference_server, "alice@example.com", 9, msnobj=MSNOBJ)
        assert reference_state.sessions["alice@example.com"].msnobj == MSNOBJ
        assert without_chl(seen) == []
        bob, seen = await online(reference_server, "bob@example.com", watcher_version)
        iln = next(c for c in seen if c.verb == "ILN")
        assert iln.args == ("NLN", "alice@example.com", "alice@example.com", *shown)
        assert without_chl(await alice.sync())[0].startswith("NLN NLN bob@example.com")
        # a status change keeps the picture only if the CHG carries it again
        trid = await alice.send("CHG", "AWY", CLIENT_ID, MSNOBJ)
        assert (await alice.expect("CHG", trid)).args == ("AWY", CLIENT_ID, MSNOBJ)
        nln = without_chl(await bob.sync())
        assert nln == [" ".join(("NLN AWY alice@example.com alice@example.com", *shown))]
        trid = await alice.send("CHG", "AWY", CLIENT_ID)
        assert (await alice.expect("CHG", trid)).args == ("AWY", CLIENT_ID)
        # same status, picture removed: the watchers are told
        bare = " ".join(("NLN AWY alice@example.com alice@example.com", *shown[:1]))
        assert without_chl(await bob.sync()) == [bare]


async def test_chg_rejects_bad_client_ids_and_huge_msnobjs(
    reference_server: ServerAddresses,
) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 9)
        trid = await alice.send("CHG", "NLN", "x12")
        await alice.expect("201", trid)
        trid = await alice.send("CHG", "NLN", "1", "%3C" * 1000)
        await alice.expect("201", trid)


@pytest.mark.parametrize("verb", ["PAG", "PGD"])
async def test_pager_commands_are_715(reference_server: ServerAddresses, verb: str) -> None:
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 9)
        args = ("bob@example.com",) if verb == "PAG" else ("bob@example.com", "1")
        trid = await alice.send(verb, *args, payload=b'<TEXT xml:space="preserve">hi</TEXT>')
        await alice.expect("715", trid)
        trid = await alice.send("SYN", "1")  # the payload was consumed: still in step
        await alice.expect("SYN", trid)


async def test_binary_p2p_message_is_acked_or_naked(reference_server: ServerAddresses) -> None:
    p2p = b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\n\x00\xff" * 3
    with trio.fail_after(10):
        alice, _ = await online(reference_server, "alice@example.com", 9)
        bob, _ = await online(reference_server, "bob@example.com", 9)
        await alice.sync()
        sb_a, _ = await open_switchboard(alice, "alice@example.com")
        trid = await sb_a.send("MSG", "D", payload=p2p)
        await sb_a.expect("NAK", trid)  # nobody else there yet
        sb_b = await answer_call(sb_a, bob, "bob@example.com", reference_server)
        iro = await sb_b.expect("IRO")
        assert iro.args == ("1", "1", "alice@example.com", "alice@example.com")  # no caps < 12
        await sb_b.expect("ANS")
        assert (await sb_a.expect("JOI")).args == ("bob@example.com", "bob@example.com")
        trid = await sb_a.send("MSG", "D", payload=p2p)
        await sb_a.expect("ACK", trid)
        relayed = await sb_b.expect("MSG")
        assert relayed.args == ("alice@example.com", "alice@example.com")
        assert relayed.payload == p2p
