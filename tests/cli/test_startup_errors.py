"""Command lines that cannot start say why in one line, never with a traceback."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from msmgr.__main__ import build_parser as msmgr_build_parser
from msmgr.__main__ import main as msmgr_main
from msproxy.__main__ import build_parser as msproxy_build_parser
from msproxy.__main__ import main as msproxy_main
from tests.capture.conftest import MD5_CHAT


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def one_line_error(capsys: pytest.CaptureFixture[str], prefix: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, err
    return lines[0]


def test_proxy_on_a_busy_port(
    busy_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--listen", f"127.0.0.1:{busy_port}", "--upstream", "127.0.0.1:9"]
    status = msproxy_main([*argv, "--capture", str(tmp_path / "c.jsonl"), "-q"])
    assert status == 1
    assert f"in use (127.0.0.1:{busy_port})" in one_line_error(capsys, "msproxy run: error:")


def test_proxy_capture_that_exists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "c.jsonl"
    existing.write_text("keep me\n")
    argv = ["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "-q"]
    assert msproxy_main([*argv, "--capture", str(existing)]) == 1
    assert "File exists" in one_line_error(capsys, "msproxy run: error:")
    assert existing.read_text() == "keep me\n"


def test_server_on_a_busy_port(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert msmgr_main(["serve", "--ds-port", str(busy_port), "-q"]) == 1
    line = one_line_error(capsys, "msmgr serve: error:")
    assert "cannot listen" in line
    assert f"in use (127.0.0.1:{busy_port})" in line


def test_replay_on_a_busy_port(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["replay", str(MD5_CHAT), "--as-server", "--listen", f"127.0.0.1:{busy_port}"]
    assert msproxy_main(argv) == 2
    line = one_line_error(capsys, "msproxy replay: error:")
    assert line.endswith(
        f"cannot listen: [Errno 98] Address already in use (127.0.0.1:{busy_port})"
    )


def test_demo_capture_that_exists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "demo.jsonl"
    existing.write_text("keep me\n")
    assert msproxy_main(["demo", "--capture", str(existing)]) == 1
    assert "File exists" in one_line_error(capsys, "msproxy demo: error:")
    assert existing.read_text() == "keep me\n"


@pytest.mark.parametrize("where", ["missing/demo.jsonl", "file/demo.jsonl"])
def test_demo_capture_path_is_checked_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    (tmp_path / "file").write_text("")
    assert msproxy_main(["demo", "--capture", str(tmp_path / where)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("msproxy demo: error: cannot create the capture")
    assert captured.err.endswith("is not a directory\n")
    assert captured.out == ""  # nothing was started (the demo's first line is "* ...")


def test_proxy_that_is_its_own_upstream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a free port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["run", "--listen", f"127.0.0.1:{port}", "--upstream", f"localhost:{port}", "-q"]
    assert msproxy_main([*argv, "--capture", str(tmp_path / "c.jsonl")]) == 2
    line = one_line_error(capsys, "msproxy run: error:")
    assert f"the upstream localhost:{port} is this proxy's own listening address" in line
    assert not (tmp_path / "c.jsonl").exists()


@pytest.mark.parametrize("build", [msmgr_build_parser, msproxy_build_parser])
def test_every_sub_command_says_what_it_is_for(
    build: Callable[[], argparse.ArgumentParser],
) -> None:
    """In the program's list and atop its own --help: a line saying what it does; and
    every option has its help."""
    parser = build()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    briefs = {choice.dest: choice.help for choice in commands._choices_actions}
    assert len(commands.choices) >= 5
    for name, sub in commands.choices.items():
        assert briefs[name], name
        assert sub.description, name
        first = sub.description.strip().split(". ")[0]
        assert first[:1].isupper() or first.startswith(f"{parser.prog} {name}:"), (name, first)
        assert all(action.help for action in sub._actions), name
