"""Starting and stopping the relay benchmark's processes: its own helpers (this script
again, with ``--helper``), ``msproxy run -q`` from a source tree, and ``mitmdump`` in TCP
mode. Every process is stopped when the ``ExitStack`` it was started on closes, and gets
SIGTERM if this process dies first (Linux), so none is left behind."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SCRIPT = Path(__file__).resolve().parents[1] / "relay.py"
ROOT = SCRIPT.parents[2]
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child, before exec: ask the kernel for SIGTERM when this script dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Process:
    """A child process, stopped with the ``ExitStack``: its stdin is closed (the cue of
    the bench's helpers), then, when ``interrupt``, it gets SIGINT (the clean stop of
    ``msproxy run`` and ``mitmdump``), and it is killed if it lingers."""

    def __init__(
        self,
        stack: contextlib.ExitStack,
        argv: list[str],
        *,
        interrupt: bool = False,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        output: IO[str] | None = None,
        errors: IO[str] | int | None = None,
    ) -> None:
        self.argv = argv
        self.interrupt = interrupt
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=output if output is not None else subprocess.PIPE,
            stderr=output if errors is None else errors,
            text=True,
            cwd=cwd,
            env=env,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        self.pid = self.proc.pid
        stack.callback(self.stop)

    def readline(self) -> str:
        """The next line the process prints (it must print one)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{' '.join(self.argv)} ended early ({self.proc.wait()})")
        return line.strip()

    def send(self, line: str) -> None:
        """Write one line to the process's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        """Stop the process (see the class); warn when it had to be killed."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        if self.interrupt and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"killed {self.argv[0]} (pid {self.pid}): no clean stop", file=sys.stderr)
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def helper(stack: contextlib.ExitStack, *argv: str) -> Process:
    """One of the bench's own helper processes (``relay.py --helper ...``)."""
    return Process(stack, [sys.executable, str(SCRIPT), "--helper", *argv])


@dataclass(frozen=True, slots=True)
class Tree:
    """A source tree whose ``msproxy run`` the bench measures: its interpreter (the tree's
    own ``.venv`` when it has one) runs with the tree first on ``sys.path``."""

    root: Path
    python: str

    @classmethod
    def at(cls, root: Path) -> Tree:
        """The tree at ``root``, with its ``.venv/bin/python`` or else this interpreter."""
        root = root.resolve()
        venv = root / ".venv" / "bin" / "python"
        return cls(root, str(venv) if venv.exists() else sys.executable)

    @property
    def env(self) -> dict[str, str]:
        """This process's environment (``MSPROXY_PURE_PYTHON`` etc. carry over), with the
        tree first on ``PYTHONPATH``."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.root), env.get("PYTHONPATH")]))
        return env

    def describe(self) -> str:
        """Where ``msmgr`` and ``msproxy`` are imported from, checked to be this tree, and
        the tree's commit; raises ``RuntimeError`` when another tree would be measured."""
        probe = "import msmgr, msproxy; print(msmgr.__file__); print(msproxy.__file__)"
        found = subprocess.run(
            [self.python, "-c", probe],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        paths = [Path(line).resolve() for line in found.stdout.split()]
        elsewhere = [path for path in paths if not path.is_relative_to(self.root)]
        if found.returncode != 0 or not paths or elsewhere:
            raise RuntimeError(
                f"{self.python} does not import msmgr and msproxy from {self.root}:"
                f" {', '.join(map(str, paths)) or found.stderr.strip()}"
            )
        return f"{self.root} ({self.commit()}) run by {self.python}"

    def commit(self) -> str:
        """The tree's commit, ``+changes`` when its tracked files differ from it."""
        git = ["git", "-C", str(self.root)]
        status = ["status", "--porcelain", "--untracked-files=no"]
        try:
            head, changes = (
                subprocess.run([*git, *command], capture_output=True, text=True, check=True)
                for command in (["rev-parse", "--short", "HEAD"], status)
            )
        except (OSError, subprocess.CalledProcessError):
            return "commit unknown"
        return head.stdout.strip() + (" +changes" if changes.stdout.strip() else "")


def start_msproxy_run(
    stack: contextlib.ExitStack,
    tree: Tree,
    upstream: int,
    capture: Path,
    version: int,
    *,
    web: bool = False,
    console: IO[str] | int | None = None,
) -> tuple[Process, int, str | None]:
    """``msproxy run -q`` of ``tree`` on a free port, capturing to ``capture`` (with
    ``web``, serving its web view too; with ``console``, a file or ``subprocess.PIPE``,
    ``msproxy run`` with its default console, written there); the process, its port (from
    the line it prints once it listens) and its web view's URL (None without ``web``)."""
    quiet = ["-q"] if console is None else []
    argv = [tree.python, "-m", "msproxy", "run", *quiet, "--listen", "127.0.0.1:0"]
    argv += ["--upstream", f"127.0.0.1:{upstream}", "--capture", str(capture)]
    argv += ["--capture-version", str(version)]
    argv += ["--web", "127.0.0.1:0"] if web else []
    if "--max-per-address" in (tree.root / "msproxy" / "cli" / "run.py").read_text():
        argv += ["--max-connections", "0", "--max-per-address", "0"]  # the idle phase's 2,000
    proc = Process(stack, argv, interrupt=True, cwd=tree.root, env=tree.env, errors=console)
    line = proc.readline()
    match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if match is None:
        raise RuntimeError(f"msproxy run of {tree.root} printed {line!r}, not its port")
    url = None
    if web:
        found = re.search(r"web view: open (\S+)", proc.readline())
        if found is None:
            raise RuntimeError(f"msproxy run --web of {tree.root} printed no web view URL")
        url = found.group(1)
    return proc, int(match.group(1)), url


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def mitmdump_version(mitmdump: str) -> str:
    """``Mitmproxy: 11.0.2``, the first line of ``mitmdump --version``."""
    found = subprocess.run([mitmdump, "--version"], capture_output=True, text=True, check=False)
    return (found.stdout.splitlines() or ["unknown version"])[0].strip()


def start_mitmdump(
    stack: contextlib.ExitStack, mitmdump: str, upstream: int, workdir: Path
) -> tuple[Process, int]:
    """mitmproxy's TCP mode (``mitmdump --mode reverse:tcp://...``) in front of
    ``upstream``, quiet, its configuration (and generated CA) in ``workdir``, not the
    user's; the process and its port, once the port accepts connections."""
    port = free_port()
    argv = [mitmdump, "--mode", f"reverse:tcp://127.0.0.1:{upstream}"]
    argv += ["--listen-host", "127.0.0.1", "--listen-port", str(port), "-q"]
    argv += ["--set", "termlog_verbosity=error", "--set", "flow_detail=0"]
    argv += ["--set", f"confdir={workdir}"]
    log_path = workdir / "mitmdump.log"
    log = stack.enter_context(log_path.open("w"))
    proc = Process(stack, argv, interrupt=True, output=log)
    deadline = time.monotonic() + 60
    while True:
        if proc.proc.poll() is not None:
            raise RuntimeError(
                f"mitmdump exited ({proc.proc.returncode}) before listening on port {port}:"
                f" {log_path.read_text().strip()[-2000:]}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return proc, port
        if time.monotonic() > deadline:
            raise RuntimeError(f"mitmdump did not listen on port {port} within 60 s")
        time.sleep(0.1)
