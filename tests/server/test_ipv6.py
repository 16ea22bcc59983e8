"""The reference server on an IPv6 address: redirects name it in brackets (``[::1]:port``)."""

from __future__ import annotations

import socket
from functools import partial

import pytest
import trio

from msmgr.codec import parse_address
from msmgr.server import DEMO_USERS, ServerAddresses, ServerConfig, ServerState, serve_reference
from msmgr.server.formats import rng, xfr_ns, xfr_sb

from .helpers import ScriptedClient, hello


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_redirect_lines_bracket_ipv6_hosts() -> None:
    assert xfr_ns(3, 2, ("::1", 1864), ("::1", 1863)).line == "XFR 3 NS [::1]:1864"
    assert xfr_sb(9, ("2001:db8::5", 1865), "c.1").line == "XFR 9 SB [2001:db8::5]:1865 CKI c.1"
    ring = rng(7, ("::1", 1865), "c.2", "alice@example.com", "Alice")
    assert ring.args[1] == "[::1]:1865"
    assert xfr_sb(9, ("127.0.0.1", 1865), "c.1").args[1] == "127.0.0.1:1865"


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
async def test_serve_on_ipv6_redirects_to_a_reachable_bracketed_address(
    nursery: trio.Nursery, scripted_clients: list[ScriptedClient]
) -> None:
    state = ServerState.from_users(dict(DEMO_USERS))
    config = ServerConfig(host="::1")
    addrs: ServerAddresses = await nursery.start(partial(serve_reference, config, state=state))
    with trio.fail_after(5):
        ds = await ScriptedClient.connect(addrs.ds)
        await hello(ds, 2)
        trid = await ds.send("USR", "MD5", "I", "alice@example.com")
        xfr = await ds.expect("XFR", trid)
        assert xfr.args[1].startswith("[::1]:")
        ns = await ScriptedClient.connect(parse_address(xfr.args[1]))
        await hello(ns, 2)
        trid = await ns.send("USR", "MD5", "I", "alice@example.com")
        assert (await ns.expect("USR", trid)).args[:2] == ("MD5", "S")
