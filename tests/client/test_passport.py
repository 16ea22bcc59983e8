"""Passport 1.4 over scripted HTTP servers (h11): nexus, 302, 200 ticket, 401, garbage."""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import Callable
from functools import partial

import h11
import pytest
import trio

from msmgr.client import AuthenticationError, HttpError, PassportClient, PassportError
from msmgr.client.errors import describe
from msmgr.client.http import http_get
from msmgr.client.passport import authorization_header, parse_header_list, parse_ticket

from .scripted import HOST

Route = Callable[[h11.Request], tuple[int, list[tuple[str, str]]]]
CHALLENGE = "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5"


async def serve_http(nursery: trio.Nursery, route: Route, seen: list[h11.Request]) -> int:
    async def handle(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:  # e.g. a TLS ClientHello
                return
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
                continue
            if isinstance(event, h11.Request):
                seen.append(event)
                status, headers = route(event)
                data = conn.send(h11.Response(status_code=status, headers=headers))
                data += conn.send(h11.Data(data=b"ok")) or b""
                data += conn.send(h11.EndOfMessage()) or b""
                await stream.send_all(data)
                return

    listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host=HOST))
    port: int = listeners[0].socket.getsockname()[1]
    return port


def make_route(port_ref: list[int]) -> Route:
    def route(request: h11.Request) -> tuple[int, list[tuple[str, str]]]:
        target = request.target.decode()
        auth = dict(request.headers).get(b"authorization", b"").decode()
        if target == "/rdr/pprdr.asp":
            urls = f"DARealm=Passport.Net,DALogin={HOST}:{port_ref[0]}/login2.srf,DAReg=x"
            return 200, [("PassportURLs", urls), ("Content-Length", "2")]
        if target == "/login2.srf":
            return 302, [("Location", "/real-login.srf"), ("Content-Length", "2")]
        if target == "/real-login.srf":
            if "pwd=alice-password," not in auth:
                cb = urllib.parse.quote("Bad password")
                return 401, [
                    ("WWW-Authenticate", f"Passport1.4 da-status=failed,cbtxt={cb}"),
                    ("Content-Length", "2"),
                ]
            info = "Passport1.4 da-status=success,tname=MSPAuth,from-PP='t=TT$$&p=PP$$',ru=x"
            return 200, [("Authentication-Info", info), ("Content-Length", "2")]
        return 404, [("Content-Length", "2")]

    return route


async def test_ticket_after_nexus_and_redirect(nursery: trio.Nursery) -> None:
    port_ref: list[int] = []
    seen: list[h11.Request] = []
    port = await serve_http(nursery, make_route(port_ref), seen)
    port_ref.append(port)
    client = PassportClient(f"http://{HOST}:{port}/rdr/pprdr.asp", timeout=5)
    with trio.fail_after(5):
        ticket = await client.get_ticket("alice@example.com", "alice-password", CHALLENGE)
        assert ticket == "t=TT$$&p=PP$$"
        assert client.dalogin == f"{HOST}:{port}/login2.srf"
        with pytest.raises(AuthenticationError, match="Bad password"):
            await client.get_ticket("alice@example.com", "nope", CHALLENGE)
    targets = [r.target for r in seen]
    # the nexus is asked only once
    login = [b"/login2.srf", b"/real-login.srf"]
    assert targets == [b"/rdr/pprdr.asp", *login, *login]
    auth = dict(seen[1].headers)[b"authorization"].decode()
    assert auth == (
        "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger.msn.com,"
        "sign-in=alice%40example.com,pwd=alice-password," + CHALLENGE
    )


async def test_nexus_without_passport_urls(nursery: trio.Nursery) -> None:
    port = await serve_http(nursery, lambda r: (200, [("Content-Length", "2")]), [])
    client = PassportClient(f"http://{HOST}:{port}/rdr/pprdr.asp", timeout=5)
    with trio.fail_after(5), pytest.raises(PassportError, match="without PassportURLs"):
        await client.get_ticket("a@b.c", "pw", CHALLENGE)


async def test_unreachable_nexus_is_an_http_error() -> None:
    listener = (await trio.open_tcp_listeners(0, host=HOST))[0]
    port = listener.socket.getsockname()[1]
    await listener.aclose()
    client = PassportClient(f"http://{HOST}:{port}/rdr/pprdr.asp", timeout=5)
    with trio.fail_after(5), pytest.raises(HttpError, match="GET http"):
        await client.get_ticket("a@b.c", "pw", CHALLENGE)


async def test_https_uses_tls(nursery: trio.Nursery) -> None:
    """An https URL wraps the stream in TLS: a plain-HTTP server makes the handshake fail."""
    port = await serve_http(nursery, lambda r: (200, []), [])
    client = PassportClient(f"https://{HOST}:{port}/rdr/pprdr.asp", timeout=5)
    with trio.fail_after(5), pytest.raises(HttpError, match="GET https"):
        await client.get_ticket("a@b.c", "pw", CHALLENGE)


async def test_tls_to_a_plain_http_server_says_why(nursery: trio.Nursery) -> None:
    """The TLS error is named even though trio's BrokenResourceError has no message."""

    async def plain_http(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)  # the ClientHello
        await stream.send_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    listeners = await nursery.start(partial(trio.serve_tcp, plain_http, 0, host=HOST))
    url = f"https://{HOST}:{listeners[0].socket.getsockname()[1]}/login"
    with trio.fail_after(5), pytest.raises(HttpError) as info:
        await http_get(url)
    message = str(info.value)
    assert message.startswith(f"GET {url}: TLS error: ")
    assert "SSL" in message.removeprefix(f"GET {url}: TLS error: ")


def test_describe_walks_the_cause_chain() -> None:
    try:
        try:
            raise ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
        except ssl.SSLError as exc:
            raise trio.BrokenResourceError() from exc
    except trio.BrokenResourceError as exc:
        broken = exc
    assert str(broken) == ""
    assert describe(broken) == "TLS error: [SSL: WRONG_VERSION_NUMBER] wrong version number"
    assert describe(trio.BrokenResourceError()) == "BrokenResourceError"
    assert describe(OSError("refused")) == "refused"
    # A message that already quotes the described cause is not prefixed twice.
    quoting = RuntimeError(f"GET https://x/: {describe(broken)}")
    quoting.__cause__ = broken
    expected = "GET https://x/: TLS error: [SSL: WRONG_VERSION_NUMBER] wrong version number"
    assert describe(quoting) == expected


def test_header_helpers() -> None:
    assert parse_header_list("Passport1.4 da-status=failed,cbtxt=x%20y") == {
        "da-status": "failed",
        "cbtxt": "x%20y",
    }
    assert parse_ticket("da-status=success,from-PP='t=1&p=2',x=y") == "t=1&p=2"
    with pytest.raises(PassportError, match="no ticket"):
        parse_ticket("da-status=success")
    header = authorization_header("a b@c", "p,w=", "lc=1")
    assert header.endswith("sign-in=a%20b%40c,pwd=p%2Cw%3D,lc=1")
