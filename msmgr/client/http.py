"""msmgr/client/http: a minimal HTTP/1.1 GET over trio streams with h11 (for Passport).

One request per connection (``Connection: close``), HTTP or HTTPS (``trio.SSLStream``
with ``ssl.create_default_context()`` unless another context is given). The response
body is read to its end but capped at ``MAX_BODY`` bytes.
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import h11
import trio

from .errors import ClientError, describe

MAX_BODY = 256 * 1024  # Passport answers are a few KiB of HTML at most

StreamOpener = Callable[[str, int], Awaitable[trio.abc.Stream]]


class HttpError(ClientError):
    """An HTTP exchange failed: no connection, a broken or invalid response, or a timeout."""


@dataclass(slots=True)
class HttpResponse:
    """The status, headers (names in lower case) and body of an HTTP response."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


async def _open_tcp(host: str, port: int) -> trio.abc.Stream:
    return await trio.open_tcp_stream(host, port)


async def http_get(
    url: str,
    headers: Sequence[tuple[str, str]] = (),
    *,
    time_limit: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
    open_stream: StreamOpener | None = None,
) -> HttpResponse:
    """GET ``url`` and return the response.

    Raises:
        HttpError: bad URL, connection failure, invalid response, body too large, timeout.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"not an http(s) URL: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise HttpError(f"bad port in {url!r}: {exc}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    opener = open_stream or _open_tcp
    try:
        with trio.fail_after(time_limit):
            stream = await opener(parts.hostname, port)
            if parts.scheme == "https":
                context = ssl_context or ssl.create_default_context()
                tls = trio.SSLStream(stream, context, server_hostname=parts.hostname)
                stream = tls
            async with stream:
                return await _exchange(stream, parts.netloc, target, headers)
    except trio.TooSlowError:
        raise HttpError(f"GET {url}: no complete answer within {time_limit} s") from None
    except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise HttpError(f"GET {url}: {describe(exc)}") from exc
    except h11.ProtocolError as exc:
        raise HttpError(f"GET {url}: invalid HTTP response: {describe(exc)}") from exc


async def _exchange(
    stream: trio.abc.Stream, host: str, target: str, headers: Sequence[tuple[str, str]]
) -> HttpResponse:
    conn = h11.Connection(h11.CLIENT)
    request = h11.Request(
        method="GET",
        target=target,
        headers=[("Host", host), ("Connection", "close"), *headers],
    )
    await stream.send_all(conn.send(request) + (conn.send(h11.EndOfMessage()) or b""))
    response: HttpResponse | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(bytes(await stream.receive_some(65536)))
        elif isinstance(event, h11.Response):
            response = HttpResponse(
                event.status_code,
                {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers},
            )
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise HttpError(f"response body larger than {MAX_BODY} bytes")
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    if response is None:
        raise HttpError("connection closed before a response")
    response.body = bytes(body)
    return response
