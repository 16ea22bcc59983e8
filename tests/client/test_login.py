"""MD5 login (MSNP2-7) against scripted servers: versions, redirects, errors, timeouts."""

from __future__ import annotations

import pytest
import trio

from msmgr.client import (
    AuthenticationError,
    ConnectFailed,
    ConnectionLost,
    ProtocolMismatch,
    RequestTimeout,
    Session,
)
from msmgr.codec import Command, login_hash

from .scripted import ALICE, ALICE_PW, SALT, MemoryServer, Peer, serve


async def test_md5_login_walks_ver_inf_usr(nursery: trio.Nursery) -> None:
    seen: list[Command] = []

    async def script(peer: Peer) -> None:
        ver = await peer.expect("VER")
        seen.append(ver)
        await peer.reply(ver, "MSNP7")
        inf = await peer.expect("INF")
        seen.append(inf)
        await peer.reply(inf, "MD5")
        usr = await peer.expect("USR")
        seen.append(usr)
        await peer.reply(usr, "MD5", "S", SALT)
        usr = await peer.expect("USR")
        seen.append(usr)
        await peer.reply(usr, "OK", ALICE, "Alice%20A.")
        seen.append(await peer.expect("OUT"))

    address = await serve(nursery, script)
    logins: list[object] = []
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol="MSNP7") as session:
            session.add_handler(logins.append, "login")
            await session.login()
            assert session.logged_in
            assert session.version == 7
            assert session.friendly_name == "Alice A."
            assert logins == [session]
    ver, inf, usr_i, usr_s, out = seen
    assert ver.args == ("MSNP7", "MSNP6", "MSNP5", "MSNP4", "MSNP3", "MSNP2", "CVR0")
    assert inf.args == ()
    assert usr_i.args == ("MD5", "I", ALICE)
    assert usr_s.args == ("MD5", "S", login_hash(SALT, ALICE_PW))
    assert out.trid is None
    trids = [c.trid or 0 for c in (ver, inf, usr_i, usr_s)]
    assert trids == sorted(set(trids))
    assert trids[0] == 1


async def test_server_may_choose_an_older_version(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.md5_login("MSNP2")
        await peer.expect("OUT")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            await session.login()
            assert session.version == 2


async def test_wrong_password_is_an_authentication_error(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.md5_login()
        await peer.receive_or_eof()  # OUT or EOF

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with Session(ALICE, "wrong", server=address, protocol=7) as session:
            with pytest.raises(AuthenticationError, match=r"\(error 911: authentication failed\)"):
                await session.login()
            assert not session.logged_in


async def test_no_common_version(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        ver = await peer.expect("VER")
        await peer.reply(ver, "0")
        await peer.receive_or_eof()

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            with pytest.raises(ProtocolMismatch, match="accepts none of"):
                await session.login()


async def test_xfr_ns_to_a_host_name_and_to_zero(nursery: trio.Nursery) -> None:
    """DS redirects to a named NS; that NS says "0" (restart VER here); then login."""
    ns_connections = 0

    async def ds(peer: Peer) -> None:
        ver = await peer.expect("VER")
        await peer.reply(ver, "MSNP7")
        await peer.reply(await peer.expect("INF"), "MD5")
        usr = await peer.expect("USR")
        await peer.send("XFR", usr.trid, "NS", "ns.example.test:4321", "0", "127.0.0.1:1863")
        assert await peer.receive_or_eof() is None  # the client hangs up

    async def ns(peer: Peer) -> None:
        nonlocal ns_connections
        ns_connections += 1
        if ns_connections == 1:
            ver = await peer.expect("VER")
            await peer.reply(ver, "MSNP7")
            await peer.reply(await peer.expect("INF"), "MD5")
            usr = await peer.expect("USR")
            await peer.send("XFR", usr.trid, "NS", "0")
            return
        await peer.md5_login()
        await peer.expect("OUT")

    ds_server = MemoryServer(nursery, ds)
    ns_server = MemoryServer(nursery, ns)

    async def open_stream(host: str, port: int) -> trio.abc.Stream:
        server = ns_server if host == "ns.example.test" else ds_server
        return await server.open_stream(host, port)

    with trio.fail_after(5):
        async with Session(
            ALICE, ALICE_PW, server="ds.example.test:1863", protocol=7, open_stream=open_stream
        ) as session:
            await session.login()
            assert session.ns is not None
            assert session.ns.nserver == "ns.example.test"
    assert ds_server.opened == [("ds.example.test", 1863)]
    assert ns_server.opened == [("ns.example.test", 4321)] * 2


async def test_server_closing_during_login_is_connection_lost(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.expect("VER")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            with pytest.raises(ConnectionLost, match="closed"):
                await session.login()


async def test_connection_refused_is_connect_failed(nursery: trio.Nursery) -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    await listener.aclose()
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=("127.0.0.1", port)) as session:
            with pytest.raises(ConnectFailed, match="cannot connect"):
                await session.login()


async def test_connect_timeout(autojump_clock: trio.testing.MockClock) -> None:
    async def never(host: str, port: int) -> trio.abc.Stream:
        await trio.sleep_forever()
        raise AssertionError

    async with Session(ALICE, ALICE_PW, open_stream=never, connect_timeout=3) as session:
        with pytest.raises(ConnectFailed, match="within 3"):
            await session.login()


async def test_silent_server_times_out(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def script(peer: Peer) -> None:
        await peer.expect("VER")
        await trio.sleep_forever()

    server = MemoryServer(nursery, script)
    async with Session(
        ALICE, ALICE_PW, open_stream=server.open_stream, request_timeout=7, login_timeout=100
    ) as session:
        with pytest.raises(RequestTimeout, match="VER 1 MSNP8"):
            await session.login()
        assert session.ns is None


async def test_login_timeout_covers_the_whole_dialogue(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def script(peer: Peer) -> None:
        ver = await peer.expect("VER")
        await trio.sleep(5)
        await peer.reply(ver, "MSNP7")
        await peer.expect("INF")
        await trio.sleep_forever()

    server = MemoryServer(nursery, script)
    async with Session(
        ALICE, ALICE_PW, open_stream=server.open_stream, request_timeout=30, login_timeout=8
    ) as session:
        with pytest.raises(RequestTimeout, match="login did not complete within 8"):
            await session.login()
