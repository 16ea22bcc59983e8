"""msmgr/server/passport_http: the Passport 1.4 nexus and login server, over plain HTTP.

Served with h11 (no hand-parsed HTTP), keep-alive included:

* ``GET /rdr/pprdr.asp`` -> 200 with ``PassportURLs: DARealm=Passport.Net,
  DALogin=<host:port>/login2.srf,...`` (like nexus.passport.com; scheme-less, as then).
* ``GET /login2.srf`` with ``Authorization: Passport1.4 OrgVerb=GET,OrgURL=...,
  sign-in=<urlenc>,pwd=<urlenc>,...`` -> 200 with ``Authentication-Info: Passport1.4
  da-status=success,...,from-PP='t=...&p=...',...`` (a new random ticket, valid for that
  account only), or 401 with ``WWW-Authenticate: Passport1.4 da-status=failed,...``.
* Anything else: 404 (unknown path) or 405 (not GET); a malformed request: 400 and close.

Unlike the originals this is not HTTPS: clients must use ``http://`` for DALogin here.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote

import h11
import trio

from .context import ServerContext
from .formats import hostport
from .limits import account_key, login_keys

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0
"""Seconds an HTTP connection may stay open (all its requests together)."""

MAX_REQUEST = 16 * 1024
"""Largest accepted request head, in bytes (h11's max_incomplete_event_size)."""

FAILED = (
    "Passport1.4 da-status=failed,srealm=Passport.NET,ts=-3,prompt,"
    "cburl=http://www.passportimages.com/XPPassportLogo.gif,"
    "cbtxt=The%20e-mail%20address%20or%20password%20is%20incorrect"
)


def parse_authorization(value: str) -> dict[str, str] | None:
    """The fields of a ``Passport1.4 k=v,k=v`` header (values left URL-encoded)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != "Passport1.4":
        return None
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields.setdefault(key, val)
    return fields


def nexus_headers(ctx: ServerContext) -> list[tuple[str, str]]:
    """The nexus reply's headers, pointing DALogin at this server."""
    here = hostport(ctx.http)
    urls = (
        f"DARealm=Passport.Net,DALogin={here}/login2.srf,DAReg=http://{here}/reg,"
        f"Properties=http://{here}/props,Privacy=http://{here}/privacy,"
        f"GeneralRedir=http://{here}/redir,Help=http://{here}/help,ConfigVersion=11"
    )
    return [("PassportURLs", urls)]


async def login_response(
    ctx: ServerContext, headers: dict[str, str], client: str
) -> tuple[int, list[tuple[str, str]]]:
    """Status and headers of the answer to ``GET /login2.srf`` from address ``client``.

    A request with credentials waits as long as the login throttle says (failed logins
    of that handle or from that address); a wrong password is counted there.
    """
    fields = parse_authorization(headers.get("authorization", ""))
    if fields is not None:
        state = ctx.state
        email = unquote(fields.get("sign-in", ""))
        password = unquote(fields.get("pwd", ""))
        keys = login_keys(email, client)
        await trio.sleep(state.logins.wait(keys, time.monotonic()))
        account = state.accounts.get(email)
        if account is not None and account.password == password:
            state.logins.succeeded(account_key(email))
            ticket = state.issue_ticket(email)
            logger.info("passport: ticket issued for %s", email)
            info = (
                "Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,"
                f"from-PP='{ticket}',ru=http://messenger.msn.com"
            )
            return 200, [("Authentication-Info", info)]
        logger.info("passport: login of %s failed", email)
        state.logins.failed(keys, time.monotonic())
    return 401, [("WWW-Authenticate", FAILED)]


async def respond(
    ctx: ServerContext, request: h11.Request, client: str
) -> tuple[int, list[tuple[str, str]]]:
    """Route one request from address ``client``."""
    path = request.target.decode("latin-1").partition("?")[0]
    if path not in ("/rdr/pprdr.asp", "/login2.srf"):
        return 404, []
    if request.method != b"GET":
        return 405, [("Allow", "GET")]
    if path == "/rdr/pprdr.asp":
        return 200, nexus_headers(ctx)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
    return await login_response(ctx, headers, client)


async def _next_event(conn: h11.Connection, stream: trio.SocketStream) -> h11.Event:
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Event):
            return event
        if event is h11.PAUSED:  # pragma: no cover - a cycle is always finished first
            return h11.ConnectionClosed()
        conn.receive_data(await stream.receive_some(MAX_REQUEST))


async def _send(
    conn: h11.Connection, stream: trio.SocketStream, status: int, headers: list[tuple[str, str]]
) -> None:
    all_headers = [*headers, ("Content-Length", "0"), ("Server", "msmgr-reference")]
    data = conn.send(h11.Response(status_code=status, headers=all_headers))
    data += conn.send(h11.EndOfMessage())
    await stream.send_all(data)


async def handle_http(ctx: ServerContext, stream: trio.SocketStream) -> None:
    """Serve the Passport requests of one HTTP connection."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST)
    try:
        client = str(stream.socket.getpeername()[0])
    except OSError:
        client = ""
    try:
        with trio.move_on_after(HTTP_TIMEOUT):
            while True:
                event = await _next_event(conn, stream)
                if isinstance(event, h11.ConnectionClosed):
                    break
                if not isinstance(event, h11.Request):
                    break
                while not isinstance(await _next_event(conn, stream), h11.EndOfMessage):
                    pass  # a body is ignored (bounded: h11 hands it out in pieces)
                status, headers = await respond(ctx, event, client)
                logger.debug(
                    "passport: %s %s -> %d", event.method.decode(), event.target.decode(), status
                )
                await _send(conn, stream, status, headers)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        logger.info("passport: bad HTTP request: %s", exc)
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            try:
                await _send(conn, stream, exc.error_status_hint, [("Connection", "close")])
            except (h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
                pass
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await trio.aclose_forcefully(stream)
