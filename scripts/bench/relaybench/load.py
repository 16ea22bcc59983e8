"""The load clients of the relay benchmark, each run in a helper process: the one that
measures a relay (throughput both ways, ping-pong latency) and the idle check's crowd."""

from __future__ import annotations

import json
import statistics
import sys
import time

import trio

from .procinfo import raise_nofile
from .upstream import Address
from .workload import command_mix, server_mix

Result = dict[str, float]


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


async def idle_clients(port: int, count: int) -> None:
    """``count`` clients that log in with VER, then idle until stdin ends."""
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


def helper_clients(port: int, count: int) -> None:
    """Child process: the idle check's clients."""
    raise_nofile()
    trio.run(idle_clients, port, count)
