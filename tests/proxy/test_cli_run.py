"""``msproxy run``: argument errors, and the run coroutine started and stopped in-process."""

from __future__ import annotations

import io
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest
import trio

from msmgr.codec import Command
from msmgr.debug import Debug, flag_logger
from msmgr.stream import CommandStream, Role
from msproxy.__main__ import build_parser, main
from msproxy.capture import FORMAT_VERSION, read_capture
from msproxy.cli import run as cli_run
from msproxy.cli.run import DEFAULT_DEBUG, default_capture, run
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import ProxyListening
from tests.proxy_process import msproxy_process


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--listen", "127.0.0.1:99999"],
        ["run", "--upstream", "host:port"],
        ["run", "--debug", "NOT_A_FLAG"],
        ["run", "--debug", "4096"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_arguments_parse() -> None:
    args = build_parser().parse_args(
        ["run", "--listen", "[::1]:1864", "--upstream", "ds.example.com:1863", "--debug", "12"]
    )
    assert args.listen == ("::1", 1864)
    assert args.upstream == ("ds.example.com", 1863)
    assert args.debug == Debug.COMMAND_SEND | Debug.COMMAND_RECV
    assert DEFAULT_DEBUG & Debug.OPEN


def test_default_capture_is_timestamped_in_captures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = default_capture(0.0)
    assert path.parent == Path("captures")
    assert path.parent.is_dir()
    assert path.name.startswith("msproxy-")
    assert path.suffix == ".jsonl"


def test_default_captures_of_one_second_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two proxies started in the same second get different names: the name has the
    microseconds, and a name whose file exists is skipped."""
    monkeypatch.chdir(tmp_path)
    first, second = default_capture(1000.25), default_capture(1000.75)
    assert first != second
    assert first.name.endswith("-250000.jsonl")
    first.write_bytes(b"taken")
    again = default_capture(1000.25)
    assert again not in (first, second)
    assert not again.exists()
    assert first.read_bytes() == b"taken"


async def test_run_never_overwrites_a_capture_taken_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A default name whose file appears between naming and creating (another proxy
    started in the same microsecond): the file is left alone and ``run`` captures to a
    fresh default name; with a name given (``--capture``) the start fails instead."""
    monkeypatch.chdir(tmp_path)
    taken = default_capture(1000.0)
    taken.write_bytes(b"another proxy's capture\n")
    config = ProxyConfig(upstream=("", 0), listen=("127.0.0.1", 0), capture=taken)
    out = io.StringIO()
    listening = await one_version_exchange(
        partial(run, config, embedded=True, default_names=True, out=out)
    )
    assert taken.read_bytes() == b"another proxy's capture\n"
    assert listening.capture is not None
    assert listening.capture != taken
    assert listening.capture.parent == Path("captures")
    assert out.getvalue().rstrip().endswith(f"capturing to {listening.capture}")
    kinds = [r["type"] for r in read_capture(listening.capture)]
    assert kinds == ["header", "open", "cmd", "cmd", "close"]
    with pytest.raises(ExceptionGroup) as failed, trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(run, config, embedded=True, out=io.StringIO()))
    assert failed.group_contains(FileExistsError)
    assert taken.read_bytes() == b"another proxy's capture\n"


async def one_version_exchange(start: Callable[..., Awaitable[object]]) -> ProxyListening:
    """Start the proxy with ``start`` (``task_status`` style), have a client say VER
    through it and get the embedded server's answer, then stop it."""
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listening: ProxyListening = await nursery.start(start)
            stream = await trio.open_tcp_stream(*listening.address)
            async with stream:
                client = CommandStream(stream, Role.CLIENT)
                await client.send(Command("VER", 1, ("MSNP7", "CVR0")))
                assert (await client.receive()).args == ("MSNP7",)
                nursery.cancel_scope.cancel()
    return listening


async def test_run_with_embedded_reference_server_then_stop(tmp_path: Path) -> None:
    capture = tmp_path / "c.jsonl"
    out = io.StringIO()
    config = ProxyConfig(upstream=("", 0), listen=("127.0.0.1", 0), capture=capture)
    listening = await one_version_exchange(partial(run, config, embedded=True, out=out))
    (line,) = out.getvalue().splitlines()
    assert line.startswith(f"msproxy listening on {listening.url}, upstream 127.0.0.1:")
    assert line.endswith(f"capturing to {capture}")
    kinds = [r["type"] for r in read_capture(capture)]
    assert kinds == ["header", "open", "cmd", "cmd", "close"]


async def answer_ver(stream: trio.SocketStream) -> None:
    """A scripted upstream: answers each chunk starting with VER, until the end."""
    async with stream:
        try:
            async for chunk in stream:
                if chunk.startswith(b"VER "):
                    await stream.send_all(b"VER 1 MSNP8\r\n")
        except trio.BrokenResourceError:
            pass


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_msproxy_run_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    capture = tmp_path / "c.jsonl"
    errors = tmp_path / "stderr.txt"
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            (up,) = await nursery.start(partial(trio.serve_tcp, answer_ver, 0, host="127.0.0.1"))
            upstream = f"127.0.0.1:{up.socket.getsockname()[1]}"
            argv = [sys.executable, "-m", "msproxy", "run", "--listen", "127.0.0.1:0"]
            argv += ["--upstream", upstream, "--capture", str(capture)]
            async with msproxy_process(argv, errors) as (proc, address):
                client = await trio.open_tcp_stream(*address)
                await client.send_all(b"VER 1 MSNP8 CVR0\r\n")
                assert await client.receive_some(100) == b"VER 1 MSNP8\r\n"
                proc.send_signal(sig)
                assert await proc.wait() == 0, errors.read_text()
                assert await client.receive_some(100) == b""  # closed by the proxy
                await client.aclose()
            nursery.cancel_scope.cancel()
    lines = capture.read_bytes().split(b"\n")
    assert lines.pop() == b""  # every line ended
    records = [json.loads(line) for line in lines]
    assert [r["type"] for r in records] == ["header", "open", "cmd", "cmd", "close"]
    assert records[-1]["conn"] == records[1]["conn"]
    assert records[-1]["by"] == "proxy"


async def test_capture_version_reaches_the_proxy_config_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--capture-version 1`` goes from the parser to ``ProxyConfig`` and into the
    capture's header; without the option the config says the default, version 2."""
    started: list[partial[Awaitable[int]]] = []

    def fake_run_async(fn: partial[Awaitable[int]], **kwargs: object) -> int:
        started.append(fn)
        return 0

    monkeypatch.setattr(cli_run, "run_async", fake_run_async)
    monkeypatch.setattr(cli_run, "configure_logging", lambda *args, **kwargs: None)
    capture = tmp_path / "c.jsonl"
    assert build_parser().parse_args(["run", "--capture-version", "1"]).capture_version == 1
    assert build_parser().parse_args(["run"]).capture_version == FORMAT_VERSION == 2
    argv = ["run", "--listen", "127.0.0.1:0", "--capture", str(capture)]
    assert main([*argv, "--capture-version", "1"]) == 0
    assert main(argv) == 0
    configs = [fn.args[0] for fn in started]
    assert all(isinstance(config, ProxyConfig) for config in configs)
    assert [config.capture_version for config in configs] == [1, 2]
    assert configs[0].capture == capture
    assert configs[0].listen == ("127.0.0.1", 0)
    # the first one run for real (the embedded server: no --upstream): a version-1 file
    await one_version_exchange(partial(started[0], out=io.StringIO()))
    records = list(read_capture(capture, expand_runs=False))
    assert records[0]["version"] == 1
    assert [r["type"] for r in records] == ["header", "open", "cmd", "cmd", "close"]


@pytest.mark.parametrize("value", ["3", "0", "two", ""])
def test_unknown_capture_version_exits_2(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--capture-version", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --capture-version: invalid" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("quiet", [["-q"], ["-qq"], ["-q", "-q", "-q"]])
@pytest.mark.usefixtures("restore_logging")
def test_quiet_shows_warnings_but_not_command_lines(
    quiet: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``msproxy run -q`` (as its logging setup leaves things): a proxy WARNING (an
    upstream connect failure, a CONFUSED line) is printed; per-command and INFO lines
    are not."""
    started: list[partial[Awaitable[int]]] = []

    def fake_run_async(fn: partial[Awaitable[int]], **kwargs: object) -> int:
        started.append(fn)
        return 0

    monkeypatch.setattr(cli_run, "run_async", fake_run_async)
    assert main(["run", *quiet, "--capture", str(tmp_path / "c.jsonl")]) == 0
    config = started[0].args[0]
    assert config.debug == Debug.NONE
    flag_logger(Debug.CONFUSED).warning("conn-1 confused: a limit exceeded")
    logging.getLogger("msproxy.proxy.server").warning("upstream connect failed")
    flag_logger(Debug.COMMAND_SEND).debug("conn-1 >>> VER 1 MSNP8 CVR0")
    flag_logger(Debug.OPEN).info("conn-1 opened")
    logging.getLogger("msproxy.proxy.server").info("an info line")
    for handler in logging.getLogger().handlers:
        handler.flush()  # (the console writes from a thread of its own)
    err = capsys.readouterr().err
    assert "a limit exceeded" in err
    assert "upstream connect failed" in err
    assert "VER 1" not in err
    assert "opened" not in err
    assert "an info line" not in err
