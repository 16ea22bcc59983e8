"""The proxy's timeouts: connecting upstream, the client's first command, and the idle
timeout; each closes the client cleanly and the capture says why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

import msmgr.cli.limits as cli_limits
from msmgr.serving import DEFAULT_MAX_CONNECTIONS, open_files_limit
from msproxy.__main__ import main
from msproxy.capture import Record, read_capture
from msproxy.cli import run as cli_run
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import ProxyListening, serve_proxy

VER = b"VER 1 MSNP8 CVR0\r\n"


async def silent(stream: trio.SocketStream) -> None:
    """An upstream that accepts and never answers (it reads, to keep the window open)."""
    async with stream:
        try:
            async for _ in stream:
                pass
        except trio.BrokenResourceError:
            pass


async def run_proxy(
    tmp_path: Path, client: Callable[[tuple[str, int]], Awaitable[None]], **options: object
) -> list[Record]:
    """A proxy (``options`` for its config) in front of ``silent``; ``client(address)``
    runs against it; the capture's records after the header."""
    capture = tmp_path / "c.jsonl"
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            (up,) = await nursery.start(partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
            config = ProxyConfig(
                upstream=up.socket.getsockname()[:2],
                listen=("127.0.0.1", 0),
                capture=capture,
                **options,  # type: ignore[arg-type]
            )
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            await client(listening.address)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    return list(read_capture(capture))[1:]


async def closed_after(address: tuple[str, int], sends: list[bytes], gap: float) -> float:
    """Send ``sends`` ``gap`` seconds apart, then wait for the proxy to close; how long
    after the last send it did."""
    async with await trio.open_tcp_stream(*address) as stream:
        last = trio.current_time()
        for data in sends:
            await stream.send_all(data)
            last = trio.current_time()  # the proxy reads it after this
            await trio.sleep(gap)
        assert await stream.receive_some(100) == b""
        return trio.current_time() - last


async def test_idle_connection_is_closed_and_the_capture_says_why(tmp_path: Path) -> None:
    """An upstream that never answers: the client's own commands keep the connection
    alive (0.1 s apart, for 0.6 s, with an idle timeout of 0.3 s); once they stop, the
    proxy closes it."""
    waited: list[float] = []

    async def client(address: tuple[str, int]) -> None:
        sends = [VER] + [b"PNG\r\n"] * 5
        waited.append(await closed_after(address, sends, 0.1))

    records = await run_proxy(tmp_path, client, idle_timeout=0.3)
    assert waited[0] >= 0.3
    assert [r["type"] for r in records] == ["open"] + ["cmd"] * 6 + ["close"]
    close = records[-1]
    assert close["by"] == "proxy"
    assert close["reason"] == "idle: nothing sent either way for 0.3 s"


async def test_no_idle_timeout_by_default(tmp_path: Path) -> None:
    """Without ``idle_timeout`` a silent upstream leaves the connection open."""

    async def client(address: tuple[str, int]) -> None:
        async with await trio.open_tcp_stream(*address) as stream:
            await stream.send_all(VER)
            with trio.move_on_after(0.5) as waiting:
                await stream.receive_some(100)
            assert waiting.cancelled_caught

    records = await run_proxy(tmp_path, client)
    assert (records[-1]["by"], records[-1]["reason"]) == ("client", "end of stream")


async def test_first_command_timeout(tmp_path: Path) -> None:
    async def client(address: tuple[str, int]) -> None:
        async with await trio.open_tcp_stream(*address) as stream:
            assert await stream.receive_some(100) == b""

    records = await run_proxy(tmp_path, client, first_command_timeout=0.2)
    assert [r["type"] for r in records] == ["open", "close"]
    assert records[0]["upstream"] is None
    assert (records[1]["by"], records[1]["reason"]) == ("proxy", "no command within 0.2 s")
    assert records[1]["t"] - records[0]["t"] >= 0.19  # wall-clock records, a trio-clock timeout


async def test_connect_timeout(tmp_path: Path) -> None:
    async def never(host: str, port: int) -> trio.abc.Stream:
        await trio.sleep_forever()

    async def client(address: tuple[str, int]) -> None:
        async with await trio.open_tcp_stream(*address) as stream:
            await stream.send_all(VER)
            assert await stream.receive_some(100) == b""

    records = await run_proxy(tmp_path, client, connect_timeout=0.2, connect=never)
    kinds = [(r["type"], r.get("kind"), r.get("message"), r.get("reason")) for r in records]
    upstream = records[0]["upstream"]
    assert kinds == [
        ("open", None, None, None),
        ("error", "connect", f"cannot connect to {upstream}: timed out after 0.2 s", None),
        ("cmd", None, None, None),
        ("close", None, None, "upstream connection failed: timed out after 0.2 s"),
    ]


@pytest.mark.usefixtures("restore_logging")
def test_timeout_and_limit_flags_reach_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[partial[Awaitable[int]]] = []

    def fake_run_async(fn: partial[Awaitable[int]], **kwargs: object) -> int:
        started.append(fn)
        return 0

    monkeypatch.setattr(cli_run, "run_async", fake_run_async)
    argv = ["run", "-q", "--capture", str(tmp_path / "c.jsonl"), "--connect-timeout", "2.5"]
    argv += ["--first-command-timeout", "7", "--idle-timeout", "300"]
    argv += ["--max-connections", "10", "--max-per-address", "0"]
    assert main(argv) == 0
    config = started[0].args[0]
    assert (config.connect_timeout, config.first_command_timeout, config.idle_timeout) == (
        2.5,
        7.0,
        300.0,
    )
    assert (config.connection_limits.total, config.connection_limits.per_address) == (10, 0)
    assert main(["run", "-q", "--capture", str(tmp_path / "d.jsonl")]) == 0
    defaults = started[1].args[0]
    assert (defaults.connect_timeout, defaults.first_command_timeout) == (10.0, 60.0)
    assert defaults.idle_timeout is None
    limit = open_files_limit()  # as main left it: raised to the hard limit
    assert limit is not None
    fits = min(DEFAULT_MAX_CONNECTIONS, (limit - cli_run.RESERVED_DESCRIPTORS) // 2)
    assert (defaults.connection_limits.total, defaults.connection_limits.per_address) == (
        fits,
        200,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--idle-timeout", "0"],
        ["--connect-timeout", "-1"],
        ["--first-command-timeout", "inf"],
        ["--max-connections", "-3"],
        ["--max-per-address", "many"],
    ],
)
def test_bad_limit_values_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", *argv])
    assert exited.value.code == 2
    assert "expected a" in capsys.readouterr().err


@pytest.mark.usefixtures("restore_logging")
def test_msproxy_run_verbose_says_it_raised_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli_limits, "raise_open_files_limit", lambda: (256, 4096))
    monkeypatch.setattr(cli_run, "run_async", lambda fn, **kwargs: 0)
    assert main(["run", "-v", "--capture", str(tmp_path / "c.jsonl")]) == 0
    assert "raised the open-files limit from 256 to 4096 (the hard limit)" in (
        capsys.readouterr().err
    )
