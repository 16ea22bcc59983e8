"""The relay benchmark's measurements: starting every relay under test, the alternating
rounds against them (throughput both ways with each relay's CPU time, then latency), the
comparison of their best rounds, and the idle-memory check of msproxy."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .browser import open_browser
from .launch import ROOT, Process, Tree, helper, mitmdump_version, start_mitmdump, start_msproxy_run
from .procinfo import cpu_seconds, loaded_extensions, rss_kib
from .report import Result, added_latency, best, ratios, show
from .workload import command_mix


@dataclass(frozen=True, slots=True)
class Relay:
    """A relay under test, running in a process of its own."""

    name: str
    port: int
    pid: int
    about: str  # what it is, printed before the rounds
    tree: Path | None = None  # the source tree whose C extensions it loads


def helper_relay(
    stack: contextlib.ExitStack, kind: str, upstream: int, capture: Path | None = None
) -> tuple[Process, int]:
    """A relay run by one of the bench's helpers; the process and its port."""
    extra = ["--capture-path", str(capture)] if capture is not None else []
    child = helper(stack, "relay", "--kind", kind, "--port", str(upstream), *extra)
    return child, int(child.readline())


def start_msproxy(
    stack: contextlib.ExitStack, upstream: int, capture: Path | None, version: int
) -> tuple[Process, int]:
    """This tree's msproxy: ``msproxy run -q`` capturing to ``capture``, or without a
    capture (which ``msproxy run`` cannot do) ``serve_proxy`` in a helper."""
    if capture is None:
        return helper_relay(stack, "msproxy", upstream)
    proc, port, _ = start_msproxy_run(stack, Tree.at(ROOT), upstream, capture, version)
    return proc, port


def start_relays(
    stack: contextlib.ExitStack,
    args: argparse.Namespace,
    upstream: int,
    workdir: Path,
    capture: Path | None,
) -> list[Relay]:
    """Every relay the options ask for, each started on ``stack``; their files (captures,
    mitmproxy's configuration) in ``workdir``."""
    # The trees first: a baseline that would import another tree stops the bench here.
    how = "msproxy run -q" if capture is not None else "serve_proxy, no capture,"
    mine = f"{how} from {Tree.at(ROOT).describe()}"
    baseline = Tree.at(args.baseline_tree) if args.baseline_tree is not None else None
    theirs = f"msproxy run -q from {baseline.describe()}" if baseline is not None else ""
    relays = []
    proc, port = helper_relay(stack, "plain", upstream)
    relays.append(Relay("plain", port, proc.pid, "a trio byte relay"))
    if capture is not None:
        proc, port = helper_relay(stack, "tee", upstream, capture.with_suffix(".tee"))
        relays.append(Relay("tee", port, proc.pid, "the byte relay writing every byte down"))
    proc, port = start_msproxy(stack, upstream, capture, args.capture_version)
    relays.append(Relay("msproxy", port, proc.pid, mine, ROOT))
    if baseline is not None:
        assert capture is not None
        path = workdir / "baseline.jsonl"
        proc, port, _ = start_msproxy_run(stack, baseline, upstream, path, args.capture_version)
        relays.append(Relay("baseline", port, proc.pid, theirs, baseline.root))
    if args.console:
        assert capture is not None
        relays += console_relays(stack, args, upstream, workdir)
    if args.web:
        assert capture is not None
        path = workdir / "web.jsonl"
        proc, port, url = start_msproxy_run(
            stack, Tree.at(ROOT), upstream, path, args.capture_version, web=True
        )
        assert url is not None
        browser = open_browser(stack, url)
        about = f"msproxy run -q --web from this tree, with {browser} showing its page"
        relays.append(Relay("web", port, proc.pid, about, ROOT))
    if args.mitmdump is not None:
        version = mitmdump_version(args.mitmdump)
        about = f"mitmdump --mode reverse:tcp -q ({version}, {args.mitmdump})"
        confdir = workdir / "mitmproxy"
        confdir.mkdir()
        proc, port = start_mitmdump(stack, args.mitmdump, upstream, confdir)
        relays.append(Relay("mitmproxy", port, proc.pid, about))
    return relays


CONSOLE_FILE = "console.txt"
SLOW_READ = 64 * 1024
"""Bytes the slow reader of ``con-pipe``'s console takes every ``SLOW_PAUSE`` seconds."""
SLOW_PAUSE = 0.1


def console_relays(
    stack: contextlib.ExitStack, args: argparse.Namespace, upstream: int, workdir: Path
) -> list[Relay]:
    """``msproxy run`` of this tree with its default console: ``console`` writes it to a
    file, ``con-pipe`` to a pipe this script reads slowly (640 KB/s: a slow terminal)."""
    tree, version = Tree.at(ROOT), args.capture_version
    log = stack.enter_context((workdir / CONSOLE_FILE).open("w"))
    capture = workdir / "console.jsonl"
    proc, port, _ = start_msproxy_run(stack, tree, upstream, capture, version, console=log)
    about = "msproxy run (default console, to a file) from this tree"
    found = [Relay("console", port, proc.pid, about, ROOT)]
    capture = workdir / "con-pipe.jsonl"
    proc, port, _ = start_msproxy_run(
        stack, tree, upstream, capture, version, console=subprocess.PIPE
    )
    assert proc.proc.stderr is not None
    threading.Thread(target=read_slowly, args=(proc.proc.stderr,), daemon=True).start()
    about = "msproxy run (default console, to a pipe read slowly) from this tree"
    found.append(Relay("con-pipe", port, proc.pid, about, ROOT))
    return found


def read_slowly(stream: IO[str]) -> None:
    """Read ``stream`` ``SLOW_READ`` bytes at a time with a pause, until its end."""
    fd = stream.fileno()
    while os.read(fd, SLOW_READ):
        time.sleep(SLOW_PAUSE)


def console_lines(workdir: Path) -> str:
    """What ``console`` wrote: its lines, and how many commands it said it skipped."""
    text = (workdir / CONSOLE_FILE).read_text(errors="replace")
    skipped = [
        int(found.group(1).replace(",", ""))
        for found in re.finditer(r" \.\.\. ([\d,]+) commands .*not shown", text)
    ]
    lines = text.count("\n")
    return f"{lines:,} lines, {len(skipped)} saying {sum(skipped):,} commands were not shown"


def one_round(load: Process, relay: Relay, commands: int) -> Result:
    """Both throughput phases (with the relay's CPU time per command) and the latency."""
    result: Result = {}
    for phase, prefix in (("throughput", ""), ("s2c", "s2c ")):
        before = cpu_seconds(relay.pid), cpu_seconds(relay.pid, loop_only=True)
        load.send(f"{relay.port} {phase}")
        result.update(json.loads(load.readline()))
        used = cpu_seconds(relay.pid) - before[0]
        loop = cpu_seconds(relay.pid, loop_only=True) - before[1]
        # The relay's own CPU time per command of the phase (every thread, and its loop's
        # thread), where the rates depend on the whole machine.
        result[f"{prefix}relay cpu us/command"] = used / commands * 1e6
        result[f"{prefix}loop cpu us/command"] = loop / commands * 1e6
    load.send(f"{relay.port} latency")
    result.update(json.loads(load.readline()))
    return result


def compare(args: argparse.Namespace, workdir: Path, capture: Path | None) -> None:
    """Throughput and latency rounds, every party in a process of its own."""
    with contextlib.ExitStack() as stack:
        sink = helper(stack, "sink", "--commands", str(args.commands))
        relays = start_relays(stack, args, int(sink.readline()), workdir, capture)
        load = helper(stack, "load", "--commands", str(args.commands), "--pings", str(args.pings))
        load.readline()
        size = len(command_mix(args.commands)[0])
        print(
            f"workload: {args.commands:,} commands, {size / 1e6:.1f} MB; {args.pings} pings;"
            f" {args.rounds} rounds;"
            f" capture {f'format version {args.capture_version}' if capture else 'off'};"
            " client, upstream and each relay in separate processes",
            flush=True,
        )
        # /proc counts CPU time in clock ticks: the step of every "cpu us/command" figure.
        step = 1e6 / os.sysconf("SC_CLK_TCK") / args.commands
        print(f"cpu us/command figures come in steps of {step:.3g} (one clock tick)", flush=True)
        for relay in relays:
            print(f"{relay.name:>9} is {relay.about}", flush=True)
        rounds: dict[str, list[Result]] = {relay.name: [] for relay in relays}
        for index in range(args.rounds):
            # Every other round in reverse order, so that no relay always runs first.
            for relay in relays if index % 2 == 0 else relays[::-1]:
                rounds[relay.name].append(one_round(load, relay, args.commands))
        for relay in relays:
            if relay.tree is not None:
                found = ", ".join(loaded_extensions(relay.pid, relay.tree)) or "none"
                print(f"{relay.name:>9} loaded C extensions: {found}", flush=True)
    # The ExitStack has stopped every process here (msproxy's captures are closed).
    results = {name: best(found) for name, found in rounds.items()}
    for name, result in results.items():
        show(name, result)
    base, mine = results["plain"], results["msproxy"]
    ratios("msproxy/plain", mine, base)
    added_latency(mine, base)
    if "tee" in results:
        # The least any capture costs: the same relay writing down every byte it relays.
        ratios("tee/plain", results["tee"], base)
        ratios("msproxy/tee", mine, results["tee"])
    for other in ("baseline", "mitmproxy", "web"):
        if other in results:
            ratios(f"msproxy/{other}", mine, results[other])
    for console in ("console", "con-pipe"):
        if console in results:  # the goal: at least 0.5x of -q's throughput
            ratios(f"{console}/msproxy", results[console], mine)
    if "console" in results:
        print(f"console (to a file): {console_lines(workdir)}", flush=True)


def idle_memory(args: argparse.Namespace, capture: Path | None, count: int) -> tuple[float, int]:
    """KiB of msproxy's RSS per idle connection through it, and how many were opened."""
    with contextlib.ExitStack() as stack:
        server = helper(stack, "server")
        proxy, port = start_msproxy(stack, int(server.readline()), capture, args.capture_version)
        time.sleep(0.2)
        before = rss_kib(proxy.pid)
        clients = helper(stack, "clients", "--port", str(port), "--count", str(count))
        opened = int(clients.readline().split()[1])
        time.sleep(0.5)
        used = rss_kib(proxy.pid) - before
    return used / max(opened, 1), opened
