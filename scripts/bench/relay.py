"""Benchmark: msproxy (parsing + capture) against a plain trio byte relay, same run.

Over loopback, for each relay: pipelined throughput (commands/s, MB/s) of a realistic
command mix, ping-pong round-trip latency per command (median, p99), and optionally
the memory each idle proxied connection costs. Prints both and the ratios.

    .venv/bin/python scripts/bench/relay.py [--commands 200000] [--pings 2000] [--rounds 3]
        [--idle 2000] [--no-capture]

Throughput and latency run client, server and both relays in this process, in rounds
that alternate plain / msproxy (the best round of each is kept: this machine is shared,
so the best is the least disturbed). The idle-memory check runs the upstream server and
the clients in two child processes and measures this process (the proxy) only; it needs
two file descriptors per connection here, so N is capped by RLIMIT_NOFILE (raised to
its hard limit first).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import trio

from msproxy.capture import read_capture
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import ProxyListening, serve_proxy

Address = tuple[str, int]

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


async def sink_server(stream: trio.SocketStream) -> None:
    """Upstream: answers VER/PNG-style pings with one line, counts everything else."""
    async with stream:
        try:
            async for chunk in stream:
                if chunk.startswith(b"VER ") or chunk == b"PNG\r\n":
                    await stream.send_all(b"QNG 50\r\n")
                elif chunk.endswith(b"END\r\n"):
                    await stream.send_all(b"OUT\r\n")
        except trio.BrokenResourceError:
            pass


async def plain_relay(upstream: Address, stream: trio.SocketStream) -> None:
    """The baseline: a byte relay with the same structure and no parsing."""
    async with stream, await trio.open_tcp_stream(*upstream) as up:

        async def pump(src: trio.SocketStream, dst: trio.SocketStream) -> None:
            try:
                async for chunk in src:
                    await dst.send_all(chunk)
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

    async with trio.open_nursery() as nursery:
        (listener,) = await nursery.start(partial(trio.serve_tcp, hold, 0, host="127.0.0.1"))
        print(listener.socket.getsockname()[1], flush=True)


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


async def read_line(stream: trio.abc.ReceiveStream) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await stream.receive_some(100)
        if not chunk:
            raise RuntimeError("helper process ended early")
        data += chunk
    return data.decode().strip()


async def idle_memory(nursery: trio.Nursery, capture: Path | None, count: int) -> float:
    """KiB of this process's RSS per idle connection through a proxy it runs."""
    me = [sys.executable, __file__]
    server = await trio.lowlevel.open_process([*me, "--helper", "server"], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        upstream: Address = ("127.0.0.1", int(await read_line(server.stdout)))
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
            await clients.wait()
        finally:
            if clients.returncode is None:
                clients.kill()
    finally:
        server.kill()
        await server.wait()
    if opened != count:
        print(f"(only {opened} of {count} connections opened)")
    return used / max(opened, 1)


async def measure(name: str, address: Address, data: bytes, commands: int, pings: int) -> Result:
    elapsed = await throughput(address, data)
    rtts = sorted(await latency(address, pings))
    return {
        "commands/s": commands / elapsed,
        "MB/s": len(data) / elapsed / 1e6,
        "rtt median us": statistics.median(rtts) * 1e6,
        "rtt p99 us": rtts[int(len(rtts) * 0.99) - 1] * 1e6,
    }


Result = dict[str, float]


def best(results: list[Result]) -> Result:
    """Per metric, the best round: highest rates, lowest times."""
    return {
        key: (max if key in ("commands/s", "MB/s") else min)(r[key] for r in results)
        for key in results[0]
    }


def show(name: str, result: Result) -> None:
    print(f"{name:>8}: " + ", ".join(f"{k} {v:,.1f}" for k, v in result.items()), flush=True)


async def main(args: argparse.Namespace) -> None:
    data, commands = command_mix(args.commands)
    limit = raise_nofile()
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "bench.jsonl" if args.capture else None
        async with trio.open_nursery() as nursery:
            (up,) = await nursery.start(partial(trio.serve_tcp, sink_server, 0, host="127.0.0.1"))
            upstream: Address = up.socket.getsockname()[:2]
            (plain,) = await nursery.start(
                partial(trio.serve_tcp, partial(plain_relay, upstream), 0, host="127.0.0.1")
            )
            plain_addr: Address = plain.socket.getsockname()[:2]
            config = ProxyConfig(upstream=upstream, listen=("127.0.0.1", 0), capture=capture)
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            print(
                f"workload: {commands:,} commands, {len(data) / 1e6:.1f} MB; {args.pings} pings;"
                f" {args.rounds} rounds; capture {'on' if capture else 'off'}"
            )
            rounds: dict[str, list[Result]] = {"plain": [], "msproxy": []}
            for _ in range(args.rounds):
                for name, address in (("plain", plain_addr), ("msproxy", listening.address)):
                    rounds[name].append(await measure(name, address, data, commands, args.pings))
            base, mine = best(rounds["plain"]), best(rounds["msproxy"])
            show("plain", base)
            show("msproxy", mine)
            print(
                "ratios msproxy/plain: "
                + ", ".join(f"{k} {mine[k] / base[k]:.2f}x" for k in base)
                + f"; added latency per command (median) "
                f"{mine['rtt median us'] - base['rtt median us']:.1f} us"
            )
            if args.idle:
                count = min(args.idle, (limit - 64) // 2)
                if count < args.idle:
                    print(f"(RLIMIT_NOFILE {limit}: {count} idle connections, not {args.idle})")
                idle_capture = Path(tmp) / "idle.jsonl" if args.capture else None
                per = await idle_memory(nursery, idle_capture, count)
                print(f"idle connections ({count:,}): proxy RSS {per:.1f} KiB per connection")
            nursery.cancel_scope.cancel()
        if capture is not None:
            records = sum(1 for r in read_capture(capture) if r["type"] == "cmd")
            print(f"capture: {records:,} command records, {capture.stat().st_size / 1e6:.1f} MB")


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--commands", type=int, default=200_000)
    parser.add_argument("--pings", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best kept)")
    parser.add_argument("--idle", type=int, default=2000, help="idle connections (0: skip)")
    parser.add_argument(
        "--capture", action=argparse.BooleanOptionalAction, default=True, help="capture to a file"
    )
    parser.add_argument("--helper", choices=["server", "clients"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper == "server":
        trio.run(helper_server)
    elif args.helper == "clients":
        trio.run(helper_clients, args.port, args.count)
    else:
        trio.run(main, args)


if __name__ == "__main__":
    cli()
