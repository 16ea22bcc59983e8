"""``msproxy replay`` on the command line: options, errors, a run against a live server."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trio

from msproxy.__main__ import main
from msproxy.inspect import load_capture
from msproxy.inspect.replay import ReplayReport, serve_replay

from .conftest import MD5_CHAT, header, write_lines


def replay_server_thread(conn: int) -> tuple[threading.Thread, queue.Queue[object]]:
    """Replay-as-server on 127.0.0.1 in a thread; the queue gets the port, then the report."""
    out: queue.Queue[object] = queue.Queue()
    capture = load_capture(MD5_CHAT)

    async def serve() -> None:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:

                async def run(task_status: trio.TaskStatus[list[tuple[str, int]]]) -> None:
                    out.put(await serve_replay(capture, conn=conn, task_status=task_status))

                ((_, port),) = await nursery.start(run)
                out.put(port)

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    return thread, out


def test_as_client_against_a_live_server(capsys: pytest.CaptureFixture[str]) -> None:
    thread, out = replay_server_thread(conn=4)
    port = out.get(timeout=10)
    argv = ["replay", str(MD5_CHAT), "--as-client", "--server", f"127.0.0.1:{port}"]
    assert main([*argv, "--conn", "4", "--timeout", "5"]) == 0
    thread.join(timeout=10)
    server_report = out.get(timeout=1)
    assert isinstance(server_report, ReplayReport)
    assert server_report.ok
    text = capsys.readouterr().out
    cmds = list(load_capture(MD5_CHAT).commands(4))
    c2s = sum(1 for r in cmds if r["dir"] == "c2s")
    s2c = len(cmds) - c2s
    assert text == (
        f"connection 4: {c2s} steps, {s2c} commands matched, {c2s} sent, 0 difference(s)\n"
    )


def test_as_client_reports_differences_with_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    thread, out = replay_server_thread(conn=4)  # plays SB#2 ...
    port = out.get(timeout=10)
    argv = ["replay", str(MD5_CHAT), "--as-client", "--server", f"127.0.0.1:{port}"]
    assert main([*argv, "--conn", "3", "--timeout", "0.5"]) == 1  # ... we expect SB#1
    thread.join(timeout=10)
    text = capsys.readouterr().out
    assert "mismatch" in text or "missing" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--as-client"], "--as-client needs --server"),
        (["--as-client", "--server", "nowhere"], "--server wants HOST:PORT"),
        (["--as-server", "--listen", "127.0.0.1:99999"], "--listen wants HOST:PORT"),
        (["--as-server", "--conn", "9"], "connection 9 has no commands"),
        (["--as-server", "--ignore", "x"], "unknown ignore rule"),
        (["--as-server", "--timeout", "0"], "--timeout must be positive"),
    ],
)
def test_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(["replay", str(MD5_CHAT), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lines(tmp_path / "v9.jsonl", [header(version=9)])
    assert main(["replay", str(path), "--as-server"]) == 2
    assert "version 9" in capsys.readouterr().err
    empty = write_lines(tmp_path / "empty.jsonl", [header()])
    assert main(["replay", str(empty), "--as-server"]) == 2
    assert "no commands" in capsys.readouterr().err


def test_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["replay", str(MD5_CHAT), "--as-client", "--server", f"127.0.0.1:{port}"]
    assert main([*argv, "--timeout", "2"]) == 2
    assert "cannot connect to 127.0.0.1:" in capsys.readouterr().err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_replay_cleanly(sig: signal.Signals) -> None:
    """``replay --as-server`` waiting for its client stops on SIGINT/SIGTERM as
    ``msproxy run`` does: one line on stderr, no traceback, status 2."""
    argv = [sys.executable, "-m", "msproxy", "replay", str(MD5_CHAT), "--as-server"]
    with trio.fail_after(30):
        proc = await trio.lowlevel.open_process(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            assert proc.stdout is not None
            assert proc.stderr is not None
            line = b""
            while not line.endswith(b"\n"):
                chunk = await proc.stdout.receive_some(1000)
                assert chunk, "msproxy replay exited early"
                line += chunk
            assert line.startswith(b"replaying the whole session")
            proc.send_signal(sig)
            assert await proc.wait() == 2
            err = b""
            while chunk := await proc.stderr.receive_some(1000):
                err += chunk
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert err.decode() == (
        f"msproxy replay: error: stopped by {sig.name} before the replay finished (no report)\n"
    )
