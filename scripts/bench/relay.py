"""Benchmark: msproxy (parsing + capture) against a plain trio byte relay, same run.

Over loopback, for each relay: pipelined throughput (commands/s, MB/s) of a realistic
client command mix, the same for a server command mix (``s2c``: the direction the proxy
frames before forwarding, for its redirect rewrites), the relay process's CPU time per
command of each (user + system, every thread) and of its event loop's thread alone
(``loop cpu``), ping-pong round-trip latency per command (median, p99), and optionally
the memory each idle proxied connection costs. Prints each relay's figures and the
ratios.

Where cores are free, a relay's rate is bounded by its busiest thread: for msproxy, the
event loop (receive, frame, forward) or the capture writer's worker thread (encode,
write; about ``relay cpu`` minus ``loop cpu``), each needing its CPU time per command;
the plain relay has only its loop. On a machine whose cores are all busy (the one this
was written on has two, shared), the whole process's CPU per command decides instead.

With a capture (the default) a third relay runs too, ``tee``: the plain relay that also
appends every byte it relays to a file, handled like the proxy's capture file (page
cache dropped every ``DROP_BYTES``). It is what recording costs at the least, with no
framing and no records, so ``msproxy/tee`` shows what framing and the capture format
cost on top of writing the traffic down at all, and ``tee/plain`` what that costs.

    .venv/bin/python scripts/bench/relay.py [--commands 200000] [--pings 2000] [--rounds 3]
        [--idle 2000] [--no-capture] [--capture-version 1|2]

Throughput and latency: the upstream echo server, each relay under test (plain, tee
and msproxy, each in its own process) and the load client are separate child processes
of this script, so no two of them share a trio loop (and its scheduling). Children
report their ports on stdout and exit when their stdin closes; this script closes it
(and kills what is left) on exit or error. Rounds alternate between the relays (the best
round of each is kept: this machine is shared, so the best is the least disturbed).
The idle-memory check runs the upstream server and the clients in two child processes
and measures this process (the proxy) only; it needs two file descriptors per
connection here, so N is capped by RLIMIT_NOFILE (raised to its hard limit first).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import trio

from msmgr.cli.entry import read_accelerator_switch
from msproxy.capture import FORMAT_VERSION, VERSIONS, read_capture
from msproxy.capture.writer import drop_written
from msproxy.cli.run import capture_accelerate
from msproxy.proxy.allocator import tune_malloc
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import ProxyListening, serve_proxy
from msproxy.proxy.session import RECEIVE_SIZE
from msproxy.proxy.sink import DROP_BYTES

Address = tuple[str, int]
Result = dict[str, float]

TEXT = (
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
    b"X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nhello, how are you today?"
)
TYPING = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: a@b.com\r\n\r\n"
P2P = b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\n" + bytes(1250)


def command_mix(count: int) -> tuple[bytes, int]:
    """``count`` client commands: messages, typing, P2P, PNG, CHG, SB USR/CAL."""
    parts = []
    for i in range(count):
        trid = i + 1
        kind = i % 10
        if kind < 4:
            parts.append(b"MSG %d N %d\r\n%s" % (trid, len(TEXT), TEXT))
        elif kind < 6:
            parts.append(b"MSG %d U %d\r\n%s" % (trid, len(TYPING), TYPING))
        elif kind == 6:
            parts.append(b"MSG %d D %d\r\n%s" % (trid, len(P2P), P2P))
        elif kind == 7:
            parts.append(b"PNG\r\n")
        elif kind == 8:
            parts.append(b"CHG %d NLN 268435492\r\n" % trid)
        else:
            parts.append(b"CAL %d bob@example.com\r\n" % trid)
    return b"".join(parts), count


def server_mix(count: int) -> tuple[bytes, int]:
    """``count`` server commands: switchboard messages, typing, P2P, presence, JOI, ACK."""
    parts = []
    for i in range(count):
        kind = i % 10
        if kind < 4:
            parts.append(b"MSG bob@example.com Bob %d\r\n%s" % (len(TEXT), TEXT))
        elif kind < 6:
            parts.append(b"MSG bob@example.com Bob %d\r\n%s" % (len(TYPING), TYPING))
        elif kind == 6:
            parts.append(b"MSG bob@example.com Bob %d\r\n%s" % (len(P2P), P2P))
        elif kind == 7:
            parts.append(b"NLN NLN bob@example.com Bob 268435492\r\n")
        elif kind == 8:
            parts.append(b"JOI carol@example.com Carol\r\n")
        else:
            parts.append(b"ACK %d\r\n" % (i + 1))
    return b"".join(parts), count


async def sink_server(server_data: bytes, stream: trio.SocketStream) -> None:
    """Upstream: answers VER/PNG-style pings with one line, counts everything else, and
    sends ``server_data`` (then ``OUT``) when asked with ``SND``."""
    async with stream:
        try:
            async for chunk in stream:
                if chunk.startswith(b"VER ") or chunk == b"PNG\r\n":
                    await stream.send_all(b"QNG 50\r\n")
                elif chunk == b"SND 2\r\n":
                    view = memoryview(server_data)
                    for i in range(0, len(view), 65536):
                        await stream.send_all(view[i : i + 65536])
                    await stream.send_all(b"OUT\r\n")
                elif chunk.endswith(b"END\r\n"):
                    await stream.send_all(b"OUT\r\n")
        except trio.BrokenResourceError:
            pass


class Tee:
    """The raw bytes a ``tee`` relay appends: both directions of every connection, as
    they pass, into one file (no framing, no records: the least any capture can cost),
    handled like the proxy's capture (``CaptureSink``/``CaptureWriter``): appended with
    ``O_APPEND``, and every ``DROP_BYTES`` put on the disk and out of the page cache
    from a worker thread."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self.written = self.kept = 0
        self.lock = trio.Lock()

    async def write(self, chunk: bytes | bytearray) -> None:
        os.write(self.fd, chunk)
        self.written += len(chunk)
        if self.written - self.kept >= DROP_BYTES and not self.lock.locked():
            async with self.lock:
                await trio.to_thread.run_sync(self._drop)

    def _drop(self) -> None:
        written = self.written
        drop_written(self.fd, self.kept, written)
        self.kept = written


async def plain_relay(
    upstream: Address, stream: trio.SocketStream, *, tee: Tee | None = None
) -> None:
    """The baseline: a byte relay with the same structure (and receive size) and no
    parsing. With ``tee``, the capture baseline: it also appends every chunk it relays
    to a file, after forwarding it."""
    async with stream, await trio.open_tcp_stream(*upstream) as up:

        async def pump(src: trio.SocketStream, dst: trio.SocketStream) -> None:
            try:
                while chunk := await src.receive_some(RECEIVE_SIZE):
                    await dst.send_all(chunk)
                    if tee is not None:
                        await tee.write(chunk)
                await dst.send_eof()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                nursery.cancel_scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(pump, stream, up)
            nursery.start_soon(pump, up, stream)


async def throughput(address: Address, data: bytes) -> float:
    """Seconds to push ``data`` through and get the upstream's final reply."""
    async with await trio.open_tcp_stream(*address) as stream:
        await stream.send_all(b"VER 1 MSNP8 CVR0\r\n")
        await stream.receive_some(100)
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:

            async def send() -> None:
                view = memoryview(data)
                for i in range(0, len(view), 65536):
                    await stream.send_all(view[i : i + 65536])
                await stream.send_all(b"END\r\n")

            nursery.start_soon(send)
            reply = b""
            while not reply.endswith(b"OUT\r\n"):
                reply += await stream.receive_some(100)
        return time.perf_counter() - start


async def throughput_s2c(address: Address, size: int) -> float:
    """Seconds to receive the upstream's ``size`` bytes of server commands (and ``OUT``)."""
    async with await trio.open_tcp_stream(*address) as stream:
        await stream.send_all(b"VER 1 MSNP8 CVR0\r\n")
        await stream.receive_some(100)
        start = time.perf_counter()
        await stream.send_all(b"SND 2\r\n")
        received = 0
        while received < size + 5:
            chunk = await stream.receive_some(65536)
            if not chunk:
                raise RuntimeError("the relay closed before the end of the server's data")
            received += len(chunk)
        return time.perf_counter() - start


async def latency(address: Address, pings: int) -> list[float]:
    """Round-trip times of ``pings`` PNG -> QNG exchanges, one at a time."""
    times = []
    async with await trio.open_tcp_stream(*address) as stream:
        await stream.send_all(b"VER 1 MSNP8 CVR0\r\n")
        await stream.receive_some(100)
        for _ in range(pings):
            start = time.perf_counter()
            await stream.send_all(b"PNG\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                reply += await stream.receive_some(100)
            times.append(time.perf_counter() - start)
    return times


async def measure(address: Address, phase: str, data: bytes, commands: int, pings: int) -> Result:
    """One phase of a round against one relay: pipelined throughput, or ping-pong latency."""
    if phase == "throughput":
        elapsed = await throughput(address, data)
        return {"commands/s": commands / elapsed, "MB/s": len(data) / elapsed / 1e6}
    if phase == "s2c":
        elapsed = await throughput_s2c(address, len(server_mix(commands)[0]))
        return {"s2c commands/s": commands / elapsed}
    rtts = sorted(await latency(address, pings))
    return {
        "rtt median us": statistics.median(rtts) * 1e6,
        "rtt p99 us": rtts[int(len(rtts) * 0.99) - 1] * 1e6,
    }


def cpu_seconds(pid: int, *, loop_only: bool = False) -> float:
    """User + system CPU time a process has used so far, from /proc: all its threads, or
    (``loop_only``) its main thread's, where a relay child runs its trio loop."""
    with open(f"/proc/{pid}/task/{pid}/stat" if loop_only else f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raise_nofile() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


# --- child processes -------------------------------------------------------------


async def serve_until_stdin_ends(
    start: Callable[[trio.Nursery], Awaitable[Address]],
) -> None:
    """Child process body: start a server, print its port, run until stdin ends."""
    async with trio.open_nursery() as nursery:
        address = await start(nursery)
        print(address[1], flush=True)
        await trio.to_thread.run_sync(sys.stdin.read)
        nursery.cancel_scope.cancel()


async def start_tcp(
    handler: Callable[[trio.SocketStream], Awaitable[None]], nursery: trio.Nursery
) -> Address:
    (listener,) = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    host, port = listener.socket.getsockname()[:2]
    return (host, port)


async def start_msproxy(
    upstream: Address, capture: Path | None, version: int, nursery: trio.Nursery
) -> Address:
    config = ProxyConfig(
        upstream=upstream,
        listen=("127.0.0.1", 0),
        capture=capture,
        capture_version=version,
        accelerate=capture_accelerate(),  # MSPROXY_PURE_PYTHON, as msproxy run reads it
    )
    listening: ProxyListening = await nursery.start(serve_proxy, config)
    return listening.address


def helper_load(commands: int, pings: int) -> None:
    """Child process: the load client; each stdin line names a port and a phase."""
    data, count = command_mix(commands)
    print("ready", flush=True)
    for line in sys.stdin:
        port, phase = line.split()
        address = ("127.0.0.1", int(port))
        try:
            result = trio.run(measure, address, phase, data, count, pings)
        except* (trio.BrokenResourceError, OSError) as group:
            # A relay went away: the parent is stopping (or died); say why, briefly.
            sys.exit(f"load client: {group.exceptions[0]}")
        print(json.dumps(result), flush=True)


async def helper_server() -> None:
    """Child process: an upstream that answers VER and holds every connection open."""
    raise_nofile()

    async def hold(stream: trio.SocketStream) -> None:
        async with stream:
            try:
                async for chunk in stream:
                    if chunk.startswith(b"VER "):
                        await stream.send_all(b"VER 1 MSNP8\r\n")
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    await serve_until_stdin_ends(partial(start_tcp, hold))


async def helper_clients(port: int, count: int) -> None:
    """Child process: ``count`` clients that log in with VER, then idle until stdin ends."""
    raise_nofile()
    streams: list[trio.SocketStream] = []
    limiter = trio.CapacityLimiter(200)

    async def one() -> None:
        async with limiter:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(b"VER 1 MSNP8 CVR0\r\n")
            await stream.receive_some(100)
            streams.append(stream)

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one)
    print(f"ready {len(streams)}", flush=True)
    await trio.to_thread.run_sync(sys.stdin.read)
    for stream in streams:
        await trio.aclose_forcefully(stream)


class Child:
    """A helper process of this script, driven over its stdin/stdout pipes."""

    def __init__(self, stack: contextlib.ExitStack, *argv: str) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--helper", *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stack.callback(self.stop)

    def readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"helper {' '.join(self.argv)} ended early ({self.proc.poll()})")
        return line.strip()

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        """Close stdin (the child's cue to exit cleanly); kill it if it lingers."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# --- the parent ------------------------------------------------------------------


async def idle_memory(capture: Path | None, count: int) -> float:
    """KiB of this process's RSS per idle connection through a proxy it runs."""
    me = [sys.executable, __file__]
    server = await trio.lowlevel.open_process(
        [*me, "--helper", "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        upstream: Address = ("127.0.0.1", int(await read_line(server.stdout)))
        async with trio.open_nursery() as nursery:
            config = ProxyConfig(upstream=upstream, listen=("127.0.0.1", 0), capture=capture)
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            await trio.sleep(0.2)
            gc.collect()
            before = rss_kib()
            argv = [*me, "--helper", "clients", "--port", str(listening.address[1])]
            clients = await trio.lowlevel.open_process(
                [*argv, "--count", str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            try:
                assert clients.stdout is not None
                assert clients.stdin is not None
                ready = await read_line(clients.stdout)
                opened = int(ready.split()[1])
                await trio.sleep(0.5)
                gc.collect()
                used = rss_kib() - before
                await clients.stdin.aclose()
                with trio.move_on_after(10):
                    await clients.wait()
            finally:
                if clients.returncode is None:
                    clients.kill()
                    await clients.wait()
            nursery.cancel_scope.cancel()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    if opened != count:
        print(f"(only {opened} of {count} connections opened)")
    return used / max(opened, 1)


async def read_line(stream: trio.abc.ReceiveStream) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await stream.receive_some(100)
        if not chunk:
            raise RuntimeError("helper process ended early")
        data += chunk
    return data.decode().strip()


def best(results: list[Result]) -> Result:
    """Per metric, the best round: highest rates, lowest times."""
    return {
        key: (max if key.endswith(("commands/s", "MB/s")) else min)(r[key] for r in results)
        for key in results[0]
    }


def show(name: str, result: Result) -> None:
    print(
        f"{name:>8}: " + ", ".join(f"{k} {v:,.{2 if v < 10 else 1}f}" for k, v in result.items()),
        flush=True,
    )


def compare(args: argparse.Namespace, capture: Path | None) -> None:
    """Throughput and latency rounds, every party in a process of its own."""
    with contextlib.ExitStack() as stack:
        sink = Child(stack, "sink", "--commands", str(args.commands))
        up = sink.readline()
        relays = {"plain": Child(stack, "relay", "--kind", "plain", "--port", up)}
        if capture is not None:
            tee = ["--capture-path", str(capture.with_suffix(".tee"))]
            relays["tee"] = Child(stack, "relay", "--kind", "tee", "--port", up, *tee)
        extra = ["--capture-path", str(capture)] if capture is not None else []
        extra += ["--capture-version", str(args.capture_version)]
        relays["msproxy"] = Child(stack, "relay", "--kind", "msproxy", "--port", up, *extra)
        ports = {name: child.readline() for name, child in relays.items()}
        load = Child(stack, "load", "--commands", str(args.commands), "--pings", str(args.pings))
        load.readline()
        size = len(command_mix(args.commands)[0])
        print(
            f"workload: {args.commands:,} commands, {size / 1e6:.1f} MB; {args.pings} pings;"
            f" {args.rounds} rounds;"
            f" capture {f'format version {args.capture_version}' if capture else 'off'};"
            " client, upstream and each relay in separate processes"
        )
        rounds: dict[str, list[Result]] = {name: [] for name in relays}
        pids = {name: child.proc.pid for name, child in relays.items()}
        for _ in range(args.rounds):
            for name, port in ports.items():
                pid = pids[name]
                result: Result = {}
                for phase, prefix in (("throughput", ""), ("s2c", "s2c ")):
                    before = cpu_seconds(pid), cpu_seconds(pid, loop_only=True)
                    load.send(f"{port} {phase}")
                    result.update(json.loads(load.readline()))
                    used = cpu_seconds(pid) - before[0]
                    loop = cpu_seconds(pid, loop_only=True) - before[1]
                    # The relay's own CPU time per command of the phase (every thread, and
                    # its loop's thread), where the rates depend on the whole machine.
                    result[f"{prefix}relay cpu us/command"] = used / args.commands * 1e6
                    result[f"{prefix}loop cpu us/command"] = loop / args.commands * 1e6
                load.send(f"{port} latency")
                result.update(json.loads(load.readline()))
                rounds[name].append(result)
    # The ExitStack has stopped every child here (the msproxy relay's capture is closed).
    results = {name: best(found) for name, found in rounds.items()}
    for name, result in results.items():
        show(name, result)
    base, mine = results["plain"], results["msproxy"]
    ratios("msproxy/plain", mine, base)
    print(
        "added latency per command (median): "
        f"{mine['rtt median us'] - base['rtt median us']:.1f} us",
        flush=True,
    )
    if "tee" in results:
        # The least any capture costs: the same relay writing down every byte it relays.
        ratios("tee/plain", results["tee"], base)
        ratios("msproxy/tee", mine, results["tee"])


def ratios(title: str, mine: Result, base: Result) -> None:
    print(
        f"ratios {title}: "
        + ", ".join(
            f"{k} {mine[k] / base[k]:.2f}x" if base[k] else f"{k} n/a (too short to measure)"
            for k in base
        ),
        flush=True,
    )


def main(args: argparse.Namespace) -> None:
    # Ctrl-C and SIGTERM unwind through the ``finally``s that stop the children (a
    # background job may inherit SIGINT ignored; SIGTERM would otherwise skip them).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    limit = raise_nofile()
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "bench.jsonl" if args.capture else None
        compare(args, capture)
        if args.idle:
            count = min(args.idle, (limit - 64) // 2)
            if count < args.idle:
                print(f"(RLIMIT_NOFILE {limit}: {count} idle connections, not {args.idle})")
            idle_capture = Path(tmp) / "idle.jsonl" if args.capture else None
            per = trio.run(idle_memory, idle_capture, count)
            print(f"idle connections ({count:,}): proxy RSS {per:.1f} KiB per connection")
        if capture is not None:
            records = sum(1 for r in read_capture(capture) if r["type"] == "cmd")
            size = capture.stat().st_size
            relayed = args.rounds * (
                len(command_mix(args.commands)[0]) + len(server_mix(args.commands)[0])
            )
            print(
                f"capture: {records:,} commands, {size / 1e6:.1f} MB"
                f" ({size / relayed:.2f} bytes per byte of the throughput phases)"
            )


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--commands", type=int, default=200_000)
    parser.add_argument("--pings", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best kept)")
    parser.add_argument("--idle", type=int, default=2000, help="idle connections (0: skip)")
    parser.add_argument(
        "--capture", action=argparse.BooleanOptionalAction, default=True, help="capture to a file"
    )
    helpers = ["server", "clients", "sink", "relay", "load"]
    parser.add_argument("--helper", choices=helpers, help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=["plain", "tee", "msproxy"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--capture-version",
        type=int,
        choices=VERSIONS,
        default=FORMAT_VERSION,
        help=f"capture format version (default {FORMAT_VERSION})",
    )
    parser.add_argument("--capture-path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    upstream: Address = ("127.0.0.1", args.port or 0)
    if args.helper == "server":
        trio.run(helper_server)
    elif args.helper == "clients":
        trio.run(helper_clients, args.port, args.count)
    elif args.helper == "sink":
        server_data = server_mix(args.commands)[0]
        trio.run(serve_until_stdin_ends, partial(start_tcp, partial(sink_server, server_data)))
    elif args.helper == "relay":
        relay_child(args, upstream)
    elif args.helper == "load":
        helper_load(args.commands, args.pings)
    else:
        main(args)


def relay_child(args: argparse.Namespace, upstream: Address) -> None:
    """Child process: one relay under test. Each tunes malloc as ``msproxy run`` does
    (``tune_malloc``), so that the baselines run under the same allocator settings, and
    reads ``MSMGR_PURE_PYTHON`` as the command lines do."""
    tune_malloc()
    read_accelerator_switch()
    if args.kind == "plain":
        trio.run(serve_until_stdin_ends, partial(start_tcp, partial(plain_relay, upstream)))
    elif args.kind == "tee":
        tee = Tee(args.capture_path)
        try:
            handler = partial(plain_relay, upstream, tee=tee)
            trio.run(serve_until_stdin_ends, partial(start_tcp, handler))
        finally:
            os.close(tee.fd)
    else:
        trio.run(
            serve_until_stdin_ends,
            partial(start_msproxy, upstream, args.capture_path, args.capture_version),
        )


if __name__ == "__main__":
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
