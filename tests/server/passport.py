"""A small Passport 1.4 client for tests: nexus, then login2.srf, with h11 over trio."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import h11
import trio


async def http_get(
    host: str, port: int, target: str, headers: list[tuple[str, str]]
) -> tuple[int, dict[str, str]]:
    """One GET on a new connection; the status and the (lower-cased) headers."""
    conn = h11.Connection(h11.CLIENT)
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        request = h11.Request(
            method="GET",
            target=target,
            headers=[("Host", f"{host}:{port}"), ("Connection", "close"), *headers],
        )
        await stream.send_all(conn.send(request) + conn.send(h11.EndOfMessage()))
        response: h11.Response | None = None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    assert response is not None
    found = {k.decode().lower(): v.decode() for k, v in response.headers}
    return response.status_code, found


def passport_fields(header: str) -> dict[str, str]:
    """``k=v,k=v`` (after the scheme) as a dict; later duplicates are dropped."""
    fields: dict[str, str] = {}
    for part in header.partition(" ")[2].split(","):
        key, _, value = part.partition("=")
        fields.setdefault(key, value)
    return fields


async def passport_ticket(nexus_url: str, email: str, password: str, challenge: str) -> str | None:
    """The ``t=...&p=...`` ticket for ``email``, or None when Passport says 401."""
    nexus = urlsplit(nexus_url)
    assert nexus.hostname is not None
    assert nexus.port is not None
    status, headers = await http_get(nexus.hostname, nexus.port, nexus.path, [])
    assert status == 200
    urls = dict(part.partition("=")[::2] for part in headers["passporturls"].split(","))
    login = urlsplit("http://" + urls["DALogin"])
    assert login.hostname is not None
    assert login.port is not None
    auth = (
        "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,"
        f"sign-in={quote(email)},pwd={quote(password)},{challenge}"
    )
    status, headers = await http_get(
        login.hostname, login.port, login.path, [("Authorization", auth)]
    )
    if status == 401:
        assert "da-status=failed" in headers["www-authenticate"]
        return None
    assert status == 200
    info = headers["authentication-info"]
    assert "da-status=success" in info
    start = info.index("from-PP='") + len("from-PP='")
    return info[start : info.index("'", start)]
