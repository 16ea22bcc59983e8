"""After login, on the NS: CHL answers, keep-alive, request helper, lists, presence, close."""

from __future__ import annotations

import pytest
import trio

from msmgr.client import ServerError, Session, make
from msmgr.codec import Command

from .scripted import ALICE, ALICE_PW, MemoryServer, Peer, passport_session, serve, until


async def test_chl_is_answered_with_qry(nursery: trio.Nursery) -> None:
    got: list[Command] = []

    async def script(peer: Peer) -> None:
        await peer.md5_login("MSNP7")
        await peer.send("CHL", 0, "15570131571988941333")
        qry = await peer.expect("QRY")
        got.append(qry)
        await peer.send("QRY", qry.trid)
        await peer.expect("OUT")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            await session.login()
            await until(lambda: got)
    (qry,) = got
    assert qry.args == ("msmsgs@msnmsgr.com",)
    assert qry.payload == b"8f2f5a91b72102cd28355e9fc9000d6e"
    assert qry.trid is not None
    assert qry.trid > 4


async def test_png_on_the_interval_qng_gives(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    pings: list[float] = []

    async def script(peer: Peer) -> None:
        await peer.md5_login("MSNP7")
        for n in range(3):
            await peer.expect("PNG")
            pings.append(trio.current_time())
            await peer.send("QNG", None, "10" if n == 0 else "20")
        await peer.expect("OUT")

    server = MemoryServer(nursery, script)
    async with Session(
        ALICE, ALICE_PW, open_stream=server.open_stream, protocol=7, ping_interval=45
    ) as session:
        start = trio.current_time()
        await session.login()
        await until(lambda: len(pings) >= 3, 1)
    gaps = [round(b - a) for a, b in zip([start, *pings], pings, strict=False)]
    assert gaps == [45, 10, 20]


async def test_request_helper_raises_server_error(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.md5_login("MSNP7")
        add = await peer.expect("ADD")
        await peer.send("201", add.trid)
        await peer.expect("OUT")

    address = await serve(nursery, script)
    codes: list[str] = []
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            session.add_handler(lambda c: codes.append(c.verb), "201")
            await session.login()
            with pytest.raises(ServerError, match="server error 201") as info:
                await session.request(make("ADD", "FL", "x@example.com", "x"))
    assert info.value.code == 201
    assert info.value.command.verb == "201"
    assert info.value.request is not None
    assert info.value.request.verb == "ADD"
    assert codes == ["201"]  # handlers keyed by the code still see it


async def test_msnp7_list_sync_and_presence(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.md5_login("MSNP7")
        syn = await peer.expect("SYN")
        assert syn.args == ("0",)
        t = syn.trid
        await peer.reply(syn, "12")
        await peer.send("GTC", t, "12", "A")
        await peer.send("BLP", t, "12", "AL")
        await peer.send("LST", t, "FL", "12", "1", "2", "bob@example.com", "Bob", "0")
        await peer.send("LST", t, "FL", "12", "2", "2", "carol@example.com", "Carol%20C", "0")
        await peer.send("LST", t, "AL", "12", "1", "1", "bob@example.com", "Bob")
        await peer.send("LST", t, "BL", "12", "0", "0")
        await peer.send("LST", t, "RL", "12", "1", "1", "bob@example.com", "Bob")
        chg = await peer.expect("CHG")
        await peer.reply(chg, "NLN")
        await peer.send("ILN", chg.trid, "NLN", "bob@example.com", "Bob")
        await peer.send("NLN", None, "AWY", "carol@example.com", "Carol%20C")
        await peer.send("FLN", None, "bob@example.com")
        await peer.send("NLN", None, "BSY", "carol@example.com", "Carol%20C")
        await peer.expect("OUT")

    address = await serve(nursery, script)
    events: list[str] = []
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            await session.login()
            await session.sync()
            assert session.lists == {
                "FL": ["bob@example.com", "carol@example.com"],
                "AL": ["bob@example.com"],
                "BL": [],
                "RL": ["bob@example.com"],
            }
            assert session.list_version == 12
            assert session.contacts["carol@example.com"].name == "Carol C"
            assert session.contact_lists.settings == {"GTC": "A", "BLP": "AL"}
            session.add_handler(lambda c: events.append(c.verb), "NLN")
            await session.set_state("NLN")
            await until(lambda: session.roster.get("carol@example.com") == "BSY")
            assert session.roster == {"carol@example.com": "BSY"}
    assert events == ["NLN", "NLN"]


async def test_msnp8_list_sync(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.twn_login(8)
        syn = await peer.expect("SYN")
        await peer.reply(syn, "15", "2", "1")
        await peer.send("GTC", None, "A")
        await peer.send("BLP", None, "AL")
        await peer.send("PRP", None, "PHH", "555%20123")
        await peer.send("LSG", None, "0", "Other%20Contacts", "0")
        await peer.send("LST", None, "bob@example.com", "Bob", "11", "0")
        await peer.send("BPR", None, "MOB", "Y")
        await peer.send("LST", None, "carol@example.com", "Carol", "8")
        await peer.expect("OUT")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with passport_session(address) as session:
            await session.login()
            assert session.version == 8
            await session.sync()
    assert session.lists["FL"] == ["bob@example.com"]
    assert session.lists["RL"] == ["bob@example.com", "carol@example.com"]
    assert session.contacts["bob@example.com"].groups == ["0"]
    assert session.contacts["bob@example.com"].properties == {"MOB": "Y"}
    assert session.contact_lists.groups == {"0": "Other Contacts"}
    assert session.contact_lists.settings["PHH"] == "555 123"
    assert session.list_version == 15


async def test_server_hangup_fires_close_and_logs_out(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.md5_login("MSNP7")
        await peer.send("OUT", None, "OTH")

    address = await serve(nursery, script)
    closed: list[object] = []
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            session.add_handler(closed.append, "close")
            await session.login()
            await session.wait_logged_out()
            assert not session.logged_in
            assert session.close_reason == "server logged us out (OTH)"
            assert closed == [session.ns]


async def test_set_state_rejects_unknown_states() -> None:
    session = Session(ALICE, ALICE_PW)
    with pytest.raises(ValueError, match="NLN BSY"):
        await session.set_state("XXX")
