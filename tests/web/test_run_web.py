"""``msproxy run --web`` without a browser: the page's URL is printed, its child process
serves the proxy's capture, and it stops with the proxy."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import trio


async def _lines(stream: trio.abc.ReceiveStream, count: int) -> list[str]:
    data = b""
    while data.count(b"\n") < count:
        chunk = await stream.receive_some()
        assert chunk, f"the proxy ended after printing {data!r}"
        data += chunk
    return data.decode().splitlines()[:count]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


async def test_run_web_serves_the_capture_and_stops_with_the_proxy(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "msproxy", "run", "-q", "--listen", "127.0.0.1:0"]
    argv += ["--web", "127.0.0.1", "--capture", str(tmp_path / "cap.jsonl")]
    with trio.fail_after(20):
        process = await trio.lowlevel.open_process(argv, stdout=subprocess.PIPE)
        try:
            assert process.stdout is not None
            listening, web = await _lines(process.stdout, 2)
            assert listening.startswith("msproxy listening on 127.0.0.1:")
            found = re.fullmatch(
                r"msproxy web view: open (http://127\.0\.0\.1:(\d+)/\?token=\S+)", web
            )
            assert found is not None, web
            url, port = found.group(1), int(found.group(2))
            api = url.replace("/?token=", "/api/info?token=")
            status, body = await trio.to_thread.run_sync(_get, api)
            assert status == 200
            [capture] = json.loads(body)["captures"]
            assert capture["source"] == str(tmp_path / "cap.jsonl")
            assert capture["problem"] is None
        finally:
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
        assert await _closes("127.0.0.1", port), f"the web view still listens on {port}"


async def _closes(host: str, port: int) -> bool:
    """True once nothing listens on ``port`` any more (the child stopped), within 10 s."""
    with trio.move_on_after(10):
        while True:
            try:
                stream = await trio.open_tcp_stream(host, port)
            except OSError:
                return True
            await stream.aclose()
            await trio.sleep(0.05)
    return False
