"""Real byte streams for the interchange tests: the directions of the sessions in
``tests/data/pcap`` (recorded by ``scripts/record_pcaps.py`` from the embedded server),
read with dpkt alone (loopback captures are in order, without loss), so the reassembler
under test takes no part in making its own expectations."""

from __future__ import annotations

import socket
from functools import cache
from pathlib import Path

import dpkt

DATA = Path(__file__).resolve().parent.parent / "data" / "pcap"
PCAPS = sorted(p for p in DATA.iterdir() if p.suffix in (".pcap", ".pcapng"))


@cache
def real_streams() -> tuple[bytes, ...]:
    """Every non-empty direction of every TCP connection of the Ethernet IPv4 capture."""
    streams: dict[tuple[str, int, str, int], bytearray] = {}
    with open(DATA / "session-ipv4-en10mb.pcap", "rb") as f:
        for _, frame in dpkt.pcap.Reader(f):
            ip = dpkt.ethernet.Ethernet(frame).data
            tcp = ip.data
            key = (
                socket.inet_ntop(socket.AF_INET, ip.src),
                tcp.sport,
                socket.inet_ntop(socket.AF_INET, ip.dst),
                tcp.dport,
            )
            streams.setdefault(key, bytearray()).extend(tcp.data)
    return tuple(bytes(s) for s in streams.values() if s)
