"""Benchmark: MSNP commands parsed and serialised per second, against a split() floor.

A realistic server-to-client mix (presence lines, list sync, text MSGs of 100-1500
bytes, binary P2P MSGs) and a client-to-server mix are framed from 64 KiB chunks, as a
socket would deliver them. The floor is ``bytes.split(b"\\r\\n")`` of the same chunks in
the same run: it finds line ends but frames nothing (it cannot tell payload bytes from
lines), so it is the cost of merely looking at every byte once. Ratios are printed
because absolute numbers vary between machines and runs.

Usage: python scripts/bench/codec.py [--commands N] [--repeat R]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from msmgr.codec import Command, Dialect, Direction, Framer
from msmgr.codec.framer import accelerated

CHUNK = 65536


def text_payload(rng: random.Random) -> bytes:
    body = "".join(
        rng.choice("abcdefghij klmnopqrstuvwxyz.,éü✓") for _ in range(rng.randint(40, 1400))
    )
    head = (
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n"
    )
    return (head + body).encode()[:1500]


def p2p_payload(rng: random.Random) -> bytes:
    head = (
        b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: b@x.com\r\n\r\n"
    )
    return head + rng.randbytes(48 + 1202) + b"\x00\x00\x00\x01"


def server_mix(n: int, rng: random.Random) -> list[Command]:
    out: list[Command] = []
    for i in range(n):
        r = rng.random()
        who = f"user{i % 500}@example.com"
        if r < 0.30:
            out.append(Command("NLN", None, ("AWY", who, "Some%20Name", "268435492")))
        elif r < 0.40:
            out.append(Command("ILN", 9, ("NLN", who, "Some%20Name", "268435492")))
        elif r < 0.45:
            out.append(Command("FLN", None, (who,)))
        elif r < 0.60:
            out.append(Command("LST", None, (who, "Some%20Name", "11", "0")))
        elif r < 0.63:
            out.append(Command("LSG", None, ("0", "Other%20Contacts", "0")))
        elif r < 0.65:
            out.append(Command("BPR", None, ("MOB", "Y")))
        elif r < 0.90:
            out.append(Command("MSG", None, (who, "Some%20Name"), text_payload(rng)))
        else:
            out.append(Command("MSG", None, (who, "Some%20Name"), p2p_payload(rng)))
    return out


def client_mix(n: int, rng: random.Random) -> list[Command]:
    out: list[Command] = []
    for i in range(n):
        r = rng.random()
        if r < 0.5:
            out.append(Command("MSG", i, ("N",), text_payload(rng)))
        elif r < 0.6:
            out.append(Command("MSG", i, ("D",), p2p_payload(rng)))
        elif r < 0.8:
            out.append(Command("CHG", i, ("NLN", "268435492")))
        else:
            out.append(Command("PNG"))
    return out


def chunks_of(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench(name: str, direction: Direction, commands: list[Command], repeat: int) -> None:
    data = b"".join(c.to_bytes() for c in commands)
    chunks = chunks_of(data)
    n = len(commands)

    def parse(accelerate: bool | None = None) -> list[Command]:
        framer = Framer(direction, strict=False, dialect=Dialect(9), accelerate=accelerate)
        out: list[Command] = []
        for chunk in chunks:
            out.extend(e for e in framer.feed(chunk) if isinstance(e, Command))
        assert len(out) == n, (len(out), n)
        return out

    def stream(accelerate: bool | None = None) -> int:
        """Parse as a streaming consumer does: each chunk's commands, then the next (not
        all 100,000 kept alive, which makes the cyclic GC dominate)."""
        framer = Framer(direction, strict=False, dialect=Dialect(9), accelerate=accelerate)
        count = 0
        for chunk in chunks:
            count += len(framer.feed(chunk))
        assert count == n, (count, n)
        return count

    def floor() -> int:
        total = 0
        for chunk in chunks:
            total += len(chunk.split(b"\r\n"))
        return total

    parsed = parse()
    assert b"".join(c.to_bytes() for c in parsed) == data, "parse is not byte-exact"

    def forward() -> bytes:
        return b"".join(c.to_bytes() for c in parsed)

    def canonical() -> bytes:
        return b"".join(c.canonical_bytes() for c in commands)

    t_floor = best_of(repeat, floor)
    t_parse = best_of(repeat, stream)
    t_python = best_of(repeat, lambda: stream(accelerate=False))
    t_forward = best_of(repeat, forward)
    t_canon = best_of(repeat, canonical)
    mb = len(data) / 1e6
    print(f"\n{name}: {n} commands, {mb:.1f} MB in {len(chunks)} chunks of {CHUNK} bytes")
    rows = [
        ("floor: bytes.split(CRLF)", t_floor),
        (f"parse (Framer.feed, {'C accelerator' if accelerated() else 'pure Python'})", t_parse),
        ("parse (Framer.feed, pure Python)", t_python),
        ("serialise parsed (raw)", t_forward),
        ("serialise built (canonical)", t_canon),
    ]
    print(f"  {'':40} {'commands/s':>12} {'MB/s':>8} {'x floor time':>13}")
    for label, t in rows:
        print(f"  {label:40} {n / t:12,.0f} {mb / t:8.1f} {t / t_floor:13.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1863)
    bench("server -> client mix", Direction.S2C, server_mix(args.commands, rng), args.repeat)
    bench("client -> server mix", Direction.C2S, client_mix(args.commands, rng), args.repeat)


if __name__ == "__main__":
    main()
