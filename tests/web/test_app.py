"""The web view's HTTP API and WebSocket on loopback, without a browser: the token and
``Host`` checks, the sessions, rows, details, filter and exports, the live updates."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Event, RejectConnection, Request, TextMessage

from msproxy.__main__ import main
from msproxy.cli.web import web_address_arg
from msproxy.web.app import MAX_ROWS
from msproxy.web.guard import host_allowed
from msproxy.web.serve import WebListening, is_loopback, serve_web, warn_if_exposed
from msproxy.web.store import WebStore

SAMPLES = Path(__file__).parents[2] / "captures" / "samples"
CHAT = SAMPLES / "msnp2-md5-chat.jsonl"


@pytest.fixture
async def web(nursery: trio.Nursery, tmp_path: Path) -> WebListening:
    live = tmp_path / "live.jsonl"
    live.write_bytes(CHAT.read_bytes().splitlines(keepends=True)[0])
    store = WebStore()
    store.follow(CHAT)
    store.follow(live)
    listening: WebListening = await nursery.start(serve_web, store, ("127.0.0.1", 0))
    return listening


def base(web: WebListening) -> str:
    return f"http://127.0.0.1:{web.port}"


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    def fetch() -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    return await trio.to_thread.run_sync(fetch)


async def api(web: WebListening, path: str, **params: str) -> Any:
    query = "&".join(f"{k}={quote(v)}" for k, v in {**params, "token": web.token}.items())
    status, body, _ = await get(f"{base(web)}{path}?{query}")
    assert status == 200, body
    return json.loads(body)


async def test_the_page_needs_the_token_and_a_host_by_address(web: WebListening) -> None:
    assert urlsplit(web.url).query == f"token={web.token}"
    status, body, headers = await get(web.url)
    assert status == 200
    assert b"<title>msproxy web</title>" in body
    cookie = headers["set-cookie"].split(";")[0]
    assert (await get(f"{base(web)}/static/app.js", {"Cookie": cookie}))[0] == 200
    for url, extra in [
        (f"{base(web)}/", {}),
        (f"{base(web)}/?token=wrong", {}),
        (f"{base(web)}/static/app.js", {}),
        (f"{base(web)}/api/sessions?token=wrong", {}),
        (f"{base(web)}/static/app.js", {"Cookie": cookie.replace("=", "=x")}),
        (f"{base(web)}/?token=wrong", {"Cookie": cookie}),
        (web.url, {"Host": f"rebound.example:{web.port}"}),
    ]:
        status, body, _ = await get(url, extra)
        assert status == 403, url
        assert b"token" in body
    assert (await get(web.url, {"Host": f"localhost:{web.port}"}))[0] == 200


def test_host_and_loopback_rules() -> None:
    for host in ("127.0.0.1:8080", "localhost:1", "[::1]:80", "192.168.1.5", "::1"):
        assert host_allowed(host), host
    for host in ("evil.example", "evil.example:80", "", "[nonsense]:1", "127.0.0.1.nip.io:80"):
        assert not host_allowed(host), host
    for host in ("127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "192.168.1.5", "example.com"):
        assert not is_loopback(host), host


async def test_sessions_rows_detail_and_filter(web: WebListening) -> None:
    sessions = await api(web, "/api/sessions")
    [chat] = sessions["sessions"]
    assert chat["handle"] == "alice@example.com"
    info = await api(web, f"/api/sessions/{chat['key']}", filter="cmd:MSG")
    assert info["total"] == 6
    assert [c["name"] for c in info["columns"]] == ["client", "DS#1", "NS#2", "SB#3", "SB#4"]
    window = await api(
        web, f"/api/sessions/{chat['key']}/rows", filter="cmd:MSG", start="1", count="2"
    )
    assert [row["n"] for row in window["rows"]] == [1, 2]
    detail = await api(web, f"/api/sessions/{chat['key']}/detail", filter="cmd:MSG dir:c2s", n="0")
    [record] = detail["records"]
    assert record["payload"]["body"] == "Hello Bob, caf\u00e9?"
    status, body, _ = await get(
        f"{base(web)}/api/sessions/{chat['key']}?filter=dir:up&token={web.token}"
    )
    assert status == 400
    assert b"direction" in body
    status, _, _ = await get(f"{base(web)}/api/sessions/9-9?token={web.token}")
    assert status == 404


async def test_exports_download(web: WebListening) -> None:
    root = f"{base(web)}/api/sessions/0-1/export"
    status, body, headers = await get(f"{root}.mmd?token={web.token}")
    assert status == 200
    assert body.startswith(b"sequenceDiagram\n")
    assert headers["content-disposition"] == 'attachment; filename="msproxy-0-1.mmd"'
    status, body, headers = await get(f"{root}.svg?token={web.token}")
    assert headers["content-type"] == "image/svg+xml"
    assert body.startswith(b"<svg")
    status, body, _ = await get(f"{root}.jsonl?token={web.token}")
    assert body.splitlines()[0] == CHAT.read_bytes().splitlines()[0]
    assert (await get(f"{root}.pdf?token={web.token}"))[0] == 404


async def websocket(web: WebListening, token: str) -> tuple[trio.SocketStream, WSConnection, Event]:
    stream = await trio.open_tcp_stream("127.0.0.1", web.port)
    connection = WSConnection(ConnectionType.CLIENT)
    host = f"127.0.0.1:{web.port}"
    await stream.send_all(connection.send(Request(host=host, target=f"/ws?token={token}")))
    while True:
        connection.receive_data(await stream.receive_some())
        for event in connection.events():
            return stream, connection, event


async def test_the_websocket_tells_of_new_records(web: WebListening, tmp_path: Path) -> None:
    refused_stream, _, refused = await websocket(web, "wrong")
    await refused_stream.aclose()
    assert isinstance(refused, RejectConnection)
    assert refused.status_code == 403
    stream, connection, accepted = await websocket(web, web.token)
    assert isinstance(accepted, AcceptConnection)
    with (tmp_path / "live.jsonl").open("ab") as file:
        file.write(CHAT.read_bytes().splitlines(keepends=True)[1])  # DS#1 opens
    with trio.fail_after(5):
        while True:
            connection.receive_data(await stream.receive_some())
            messages = [e for e in connection.events() if isinstance(e, TextMessage)]
            if messages:
                break
    assert json.loads(messages[0].data) == {"type": "update", "sessions": ["1-1"]}
    await stream.aclose()


async def test_a_window_of_rows_is_bounded(nursery: trio.Nursery, tmp_path: Path) -> None:
    lines = CHAT.read_bytes().splitlines(keepends=True)[:2]  # the header, DS#1 opens
    ping = (
        b'{"type":"cmd","t":1700000001,"conn":1,"dir":"c2s","cmd":"SYN","trid":%d,"args":["0"]}\n'
    )
    (tmp_path / "long.jsonl").write_bytes(b"".join(lines) + b"".join(ping % n for n in range(2000)))
    store = WebStore()
    store.follow(tmp_path / "long.jsonl")
    long: WebListening = await nursery.start(serve_web, store, ("127.0.0.1", 0))
    window = await api(long, "/api/sessions/0-1/rows", start="0", count="100000")
    assert window["total"] == 2001
    assert len(window["rows"]) == MAX_ROWS
    window = await api(long, "/api/sessions/0-1/rows", start="1990", count="100")
    assert [row["trid"] for row in window["rows"]] == list(range(1989, 2000))


async def test_a_fold_shows_its_records(web: WebListening) -> None:
    detail = await api(web, "/api/sessions/0-1/detail", n="26")
    assert detail["row"]["kind"] == "fold"
    assert [record["type"] for record in detail["records"]] == ["cmd", "cmd", "cmd"]


def test_the_web_address_takes_a_host_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert web_address_arg("127.0.0.1") == ("127.0.0.1", 0)
    assert web_address_arg("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert web_address_arg("[::1]") == ("::1", 0)
    assert main(["web", "/nonexistent/capture.jsonl"]) == 2
    assert "no such capture file: /nonexistent/capture.jsonl" in capsys.readouterr().err


def test_another_address_than_loopback_gets_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    warn_if_exposed("127.0.0.1")
    assert not caplog.records
    warn_if_exposed("0.0.0.0")
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert "0.0.0.0, not a loopback address" in record.getMessage()
