"""msproxy/web/guard: the token and ``Host`` checks in front of every request.

Every HTTP request and the WebSocket must carry the token, as the ``token`` query
parameter or as the cookie the page's first load sets (so the page's own scripts and
styles need no token in their URLs), and a ``Host`` header naming the server by an IP
address or ``localhost``: a page from another site that got its name resolved to this
address (DNS rebinding) sends its own name, and is refused. Anything else gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_BYTES = 24
"""Random bytes in a token (URL-safe base64: 32 characters)."""


def new_token() -> str:
    """A fresh random token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def cookie_name(token: str) -> str:
    """The token cookie's name, its own per server (cookies are not kept per port)."""
    return "msproxy-web-" + hashlib.sha256(token.encode()).hexdigest()[:12]


def host_allowed(host: str) -> bool:
    """True when a ``Host`` header names the server by an IP address or ``localhost``."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else ""
    else:
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware: 403 for a request without the token or with a foreign ``Host``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_name(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.allows(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b"403 forbidden: this page needs the URL msproxy printed, with its token\n"
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def allows(self, scope: Scope) -> bool:
        """True when the request has the token and an acceptable ``Host``."""
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        host = headers.get(b"host", b"").decode("latin-1")
        if not host_allowed(host):
            return False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        offered = query.get("token", [])
        if not offered:  # a token in the URL is the one checked; else the cookie's
            try:
                jar = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
            except CookieError:
                jar = SimpleCookie()
            if self.cookie in jar:
                offered = [jar[self.cookie].value]
        expected = self.token.encode()
        return len(offered) == 1 and hmac.compare_digest(offered[0].encode(), expected)
