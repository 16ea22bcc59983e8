"""Benchmark: msproxy (parsing + capture) against a plain trio byte relay, same run.

Over loopback, for each relay: pipelined throughput (commands/s, MB/s) of a realistic
command mix, ping-pong round-trip latency per command (median, p99), and optionally
the memory each idle proxied connection costs. Prints both and the ratios.

    .venv/bin/python scripts/bench/relay.py [--commands 200000] [--pings 2000] [--idle 1000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
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


async def idle_memory(address: Address, count: int) -> float:
    """KiB of RSS per idle connection held open through ``address`` (client side included)."""
    gc.collect()
    before = rss_kib()
    streams = []
    for _ in range(count):
        stream = await trio.open_tcp_stream(*address)
        await stream.send_all(b"VER 1 MSNP8 CVR0\r\n")
        streams.append(stream)
    for stream in streams:
        await stream.receive_some(100)
    await trio.sleep(0.2)
    gc.collect()
    used = rss_kib() - before
    for stream in streams:
        await stream.aclose()
    return used / count


async def measure(
    name: str, address: Address, data: bytes, commands: int, pings: int
) -> dict[str, float]:
    seconds = throughput(address, data)
    elapsed = await seconds
    rtts = sorted(await latency(address, pings))
    result = {
        "commands/s": commands / elapsed,
        "MB/s": len(data) / elapsed / 1e6,
        "rtt median us": statistics.median(rtts) * 1e6,
        "rtt p99 us": rtts[int(len(rtts) * 0.99) - 1] * 1e6,
    }
    print(f"{name:>8}: " + ", ".join(f"{k} {v:,.1f}" for k, v in result.items()), flush=True)
    return result


async def main(args: argparse.Namespace) -> None:
    data, commands = command_mix(args.commands)
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "bench.jsonl"
        async with trio.open_nursery() as nursery:
            (up,) = await nursery.start(partial(trio.serve_tcp, sink_server, 0, host="127.0.0.1"))
            upstream: Address = up.socket.getsockname()[:2]
            (plain,) = await nursery.start(
                partial(trio.serve_tcp, partial(plain_relay, upstream), 0, host="127.0.0.1")
            )
            plain_addr: Address = plain.socket.getsockname()[:2]
            config = ProxyConfig(upstream=upstream, listen=("127.0.0.1", 0), capture=capture)
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            print(f"workload: {commands:,} commands, {len(data) / 1e6:.1f} MB; {args.pings} pings")
            base = await measure("plain", plain_addr, data, commands, args.pings)
            mine = await measure("msproxy", listening.address, data, commands, args.pings)
            print(
                "ratios msproxy/plain: "
                + ", ".join(f"{k} {mine[k] / base[k]:.2f}x" for k in base)
                + f"; added latency per command (median) "
                f"{mine['rtt median us'] - base['rtt median us']:.1f} us"
            )
            if args.idle:
                direct = await idle_memory(upstream, args.idle)
                proxied = await idle_memory(listening.address, args.idle)
                print(
                    f"idle connections ({args.idle}): direct {direct:.1f} KiB each, through "
                    f"msproxy {proxied:.1f} KiB each -> proxy cost ~{proxied - direct:.1f} KiB"
                )
            nursery.cancel_scope.cancel()
        records = sum(1 for r in read_capture(capture) if r["type"] == "cmd")
        print(f"capture: {records:,} command records, {capture.stat().st_size / 1e6:.1f} MB")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200_000)
    parser.add_argument("--pings", type=int, default=2000)
    parser.add_argument("--idle", type=int, default=1000, help="idle connections (0: skip)")
    trio.run(main, parser.parse_args())


if __name__ == "__main__":
    cli()
