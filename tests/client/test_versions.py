"""What the client says it is per MSNP version: the CVR build, the CHG client id (and
MSNObject), and that the reference server relays the client id to the peers."""

from __future__ import annotations

import urllib.parse
from contextlib import AbstractAsyncContextManager

import pytest
import trio

from msmgr.client import CLIENT_IDS, Session, cvr_args, default_client_id, open_session
from msmgr.codec import Command
from msmgr.server import ServerAddresses

from .scripted import ALICE, ALICE_PW, Peer, passport_session, serve, until

BOB = "bob@example.com"
BUILDS = {8: "5.0.0540", 9: "6.0.0602", 10: "6.2.0208", 11: "7.0.0813", 12: "7.5.0324"}
MSNOBJ = '<msnobj Creator="alice@example.com" Type="3" SHA1D="x="/>'


def test_version_tables() -> None:
    assert [cvr_args(v, ALICE)[5] for v in BUILDS] == list(BUILDS.values())
    assert cvr_args(12, ALICE) == (
        "0x0409", "winnt", "5.1", "i386", "MSNMSGR", "7.5.0324", "MSMSGS", ALICE
    )  # fmt: skip
    assert default_client_id(7) is None
    assert default_client_id(8) == 268435492
    assert [default_client_id(v) for v in BUILDS] == [CLIENT_IDS[v] for v in BUILDS]
    assert len({CLIENT_IDS[v] for v in (9, 10, 11, 12)}) == 4  # one per client generation


@pytest.mark.parametrize("version", sorted(BUILDS))
async def test_cvr_and_chg_per_version(nursery: trio.Nursery, version: int) -> None:
    seen: list[Command] = []

    async def script(peer: Peer) -> None:
        seen.append(await peer.twn_login(version))
        for _ in range(3):
            chg = await peer.expect("CHG")
            seen.append(chg)
            await peer.reply(chg, *chg.args)
        await peer.expect("OUT")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with passport_session(address, protocol=version) as session:
            await session.login()
            await session.set_state("NLN")
            await session.set_state("BSY", client_id=1234)
            if version >= 9:
                await session.set_state("AWY", client_id=5, msn_object=MSNOBJ)
            else:
                with pytest.raises(ValueError, match="MSNObject"):
                    await session.set_state("AWY", msn_object=MSNOBJ)
                await session.set_state("AWY")
    cvr, *chgs = seen
    assert cvr.args == (*cvr_args(version, ALICE),)
    assert cvr.args[5] == BUILDS[version]
    assert chgs[0].args == ("NLN", str(CLIENT_IDS[version]))
    assert chgs[1].args == ("BSY", "1234")
    if version >= 9:
        assert chgs[2].args == ("AWY", "5", urllib.parse.quote(MSNOBJ, safe=""))
        assert " " not in chgs[2].args[2]
    else:
        assert chgs[2].args == ("AWY", str(CLIENT_IDS[version]))


async def test_no_client_id_before_msnp8(nursery: trio.Nursery) -> None:
    seen: list[Command] = []

    async def script(peer: Peer) -> None:
        await peer.md5_login("MSNP7")
        chg = await peer.expect("CHG")
        seen.append(chg)
        await peer.reply(chg, *chg.args)
        await peer.expect("OUT")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            await session.login()
            with pytest.raises(ValueError, match="client id"):
                await session.set_state("NLN", client_id=1)
            await session.set_state("NLN")
    assert [c.args for c in seen] == [("NLN",)]


async def test_reference_server_relays_the_client_id_at_msnp12(
    reference_server: ServerAddresses,
) -> None:
    def login(handle: str, password: str) -> AbstractAsyncContextManager[Session]:
        return open_session(
            handle,
            password,
            server=reference_server.ds,
            protocol=12,
            nexus_url=reference_server.nexus_url,
            request_timeout=5,
        )

    with trio.fail_after(10):
        async with login(ALICE, ALICE_PW) as alice:
            await alice.set_state("NLN", client_id=1234)
            async with login(BOB, "bob-password") as bob:
                await bob.set_state("NLN")  # the default client id of MSNP12
                await until(lambda: ALICE in bob.contact_lists.presence)  # ILN
                assert bob.contact_lists.presence[ALICE].client_id == 1234
                await until(lambda: BOB in alice.contact_lists.presence)  # NLN
                assert alice.contact_lists.presence[BOB].client_id == CLIENT_IDS[12]
                conversation = await alice.new_conversation(BOB)  # bob: RNG, ANS, IRO
                assert conversation.capabilities == {BOB: CLIENT_IDS[12]}  # JOI
                await until(lambda: bob.conversations)
                (bob_side,) = bob.conversations
                await bob_side.wait_for(ALICE)
                assert bob_side.capabilities == {ALICE: 1234}  # IRO
