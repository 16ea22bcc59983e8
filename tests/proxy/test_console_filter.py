"""``msproxy run --filter``: the console shows what the filter selects, the capture all."""

from __future__ import annotations

import io
import logging
import socket
from functools import partial
from pathlib import Path

import pytest
import trio

from msproxy.__main__ import main
from msproxy.capture import read_capture
from msproxy.cli import run as cli_run
from msproxy.cli.run import DEFAULT_DEBUG, run
from msproxy.inspect.show import stream_lines
from msproxy.proxy.config import ProxyConfig
from msproxy.view import filterlang
from msproxy.view.console import ConsoleFormatter

from .test_cli_run import one_version_exchange


async def console_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, expression: str | None
) -> list[str]:
    """The console lines of one VER exchange through ``msproxy run`` with the filter."""
    capture = tmp_path / "c.jsonl"
    config = ProxyConfig(
        upstream=("", 0),
        listen=("127.0.0.1", 0),
        capture=capture,
        debug=DEFAULT_DEBUG,
        console_filter=filterlang.compile(expression) if expression is not None else None,
    )
    caplog.set_level(logging.DEBUG, logger="msmgr.debug")
    await one_version_exchange(partial(run, config, embedded=True, out=io.StringIO()))
    commands = [r["cmd"] for r in read_capture(capture) if r["type"] == "cmd"]
    assert commands == ["VER", "VER"]  # the capture is complete whatever the filter
    return [r.getMessage() for r in caplog.records if r.name.startswith("msmgr.debug")]


async def test_without_a_filter_every_line_is_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = await console_of(tmp_path, caplog, None)
    assert [line for line in lines if " VER " in line] == [
        "DS#1 -> VER 1 MSNP7 CVR0",
        "DS#1 <- VER 1 MSNP7",
    ]
    assert any(" ** open DS " in line for line in lines)
    assert any(" ** close by " in line for line in lines)


async def test_filter_selects_console_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert await console_of(tmp_path, caplog, "dir s2c") == ["DS#1 <- VER 1 MSNP7"]


async def test_filter_keeps_connection_lines_it_selects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = await console_of(tmp_path, caplog, "role DS and not cmd VER")
    assert lines
    assert not any(" VER " in line for line in lines)
    assert any(" ** open DS " in line for line in lines)


def test_bad_filter_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "--filter", "cmd MSG or", "--capture", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("msproxy run: error: --filter: expected a test")
    assert not (tmp_path / "c").exists()


def test_filter_reaches_the_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[partial[object]] = []

    def fake_run_async(fn: partial[object], **kwargs: object) -> int:
        started.append(fn)
        return 0

    monkeypatch.setattr(cli_run, "run_async", fake_run_async)
    monkeypatch.setattr(cli_run, "configure_logging", lambda *args, **kwargs: None)
    assert main(["run", "--filter", "cmd MSG", "--capture", str(tmp_path / "c")]) == 0
    config = started[0].args[0]
    assert isinstance(config.console_filter, filterlang.Filter)
    assert config.console_filter.text == "cmd MSG"


async def test_an_unreachable_upstream_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = ProxyConfig(
        upstream=("127.0.0.1", port),
        listen=("127.0.0.1", 0),
        capture=tmp_path / "c.jsonl",
        debug=DEFAULT_DEBUG,
    )
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listening = await nursery.start(partial(run, config, out=io.StringIO()))
            stream = await trio.open_tcp_stream(*listening.address)
            async with stream:
                await stream.send_all(b"VER 1 MSNP8 CVR0\r\n")
                assert await stream.receive_some(100) == b""  # closed by the proxy
            nursery.cancel_scope.cancel()
    said = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith(f"DS#1 !! error connect: cannot connect to 127.0.0.1:{port}: ")
    assert caplog.records[[r.getMessage() for r in caplog.records].index(said[0])].levelno == (
        logging.WARNING
    )


async def test_console_lines_read_as_show_prints_the_capture(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One renderer: formatted as the console formats them, the proxy's lines say what
    ``msproxy show`` says of the capture's records (the time column aside)."""
    await console_of(tmp_path, caplog, None)
    capture = tmp_path / "c.jsonl"
    header = next(read_capture(capture))
    console = ConsoleFormatter(started=header["started"])
    formatted = [console.format(r) for r in caplog.records if r.name.startswith("msmgr.debug")]
    shown = list(stream_lines(read_capture(capture)))

    def untimed(lines: list[str]) -> list[str]:
        return [line.split(None, 1)[1] for line in lines if "closed its side" not in line]

    assert untimed(formatted) == untimed(shown)
    assert len(shown) == 4  # open, VER, VER, close
    for mine, theirs in zip(formatted, shown, strict=True):
        assert abs(float(mine.split()[0]) - float(theirs.split()[0])) < 0.5


def test_console_formatter_colours_like_show() -> None:
    def record(name: str, level: int, msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, level, "f", 1, msg, args, None)

    console = ConsoleFormatter(color=True, started=0.0)
    command = record("msmgr.debug.command_recv", logging.DEBUG, "%s %s %s", "SB#3", "<-", "217 3")
    command.created = 1.5
    assert console.format(command) == "     1.500  SB#3  \x1b[31m<- 217 3\x1b[0m"
    warning = record("msproxy.proxy.server", logging.WARNING, "#%d ended: %s", 3, "boom")
    warning.created = 2.0
    assert console.format(warning) == "     2.000        \x1b[31m!! #3 ended: boom\x1b[0m"
    plain = ConsoleFormatter(started=0.0)
    dump = record(
        "msmgr.debug.packet_send", logging.DEBUG, "%s %s %d bytes\n%s", "NS#2", "->", 2, "00"
    )
    dump.created = 0.0
    assert plain.format(dump).splitlines() == ["     0.000  NS#2  -> 2 bytes", "        00"]
    opened = record("msmgr.debug.open", logging.DEBUG, "%s ** open SB parent=#2 via=XFR", "SB#3")
    opened.created = 0.0
    assert plain.format(opened) == "     0.000  SB#3  ** open SB parent=NS#2 via=XFR"
    unknown = record("msmgr.debug.open", logging.DEBUG, "%s ** open SB parent=#9 via=RNG", "SB#4")
    unknown.created = 0.0
    assert plain.format(unknown).endswith("parent=#9 via=RNG")
