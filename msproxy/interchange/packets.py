"""msproxy/interchange/packets: synthetic Ethernet/IP/TCP frames for one connection
(dpkt builds the headers and checksums).

A ``SyntheticConnection`` keeps each side's sequence number: the three-way handshake,
data in segments of at most ``MSS`` bytes (each acknowledged by the other side), and the
closing FIN/ACK exchange. Every frame is a valid packet; Wireshark follows the stream
without a warning.
"""

from __future__ import annotations

import socket
import zlib
from dataclasses import dataclass

import dpkt

from .segments import Endpoint

MSS = 1460
"""Bytes of data per segment (Ethernet's)."""
WINDOW = 65535


@dataclass(slots=True)
class _Side:
    endpoint: Endpoint
    mac: bytes
    seq: int  # the next sequence number this side sends


def _mac(endpoint: Endpoint) -> bytes:
    """A locally administered MAC address made from ``endpoint``'s address."""
    return b"\x02" + zlib.crc32(endpoint[0].encode("utf-8")).to_bytes(4, "big") + b"\x00"


def _isn(endpoint: Endpoint, peer: Endpoint) -> int:
    """A made-up initial sequence number (stable for the same endpoints)."""
    return zlib.crc32(f"{endpoint}>{peer}".encode()) & 0xFFFFFFFF


class SyntheticConnection:
    """The packets of one TCP connection between ``client`` and ``server``."""

    def __init__(self, client: Endpoint, server: Endpoint) -> None:
        self._family = socket.AF_INET6 if ":" in client[0] else socket.AF_INET
        self.client = _Side(client, _mac(client), _isn(client, server))
        self.server = _Side(server, _mac(server), _isn(server, client))

    def handshake(self) -> list[bytes]:
        """SYN, SYN-ACK, ACK."""
        c, s = self.client, self.server
        frames = [self._frame(c, s, dpkt.tcp.TH_SYN, b"", ack=False)]
        c.seq += 1
        frames.append(self._frame(s, c, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, b""))
        s.seq += 1
        frames.append(self._frame(c, s, dpkt.tcp.TH_ACK, b""))
        return frames

    def data(self, from_client: bool, data: bytes) -> list[bytes]:
        """``data`` from one side in segments, then the other side's acknowledgement."""
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        frames = []
        for start in range(0, len(data), MSS):
            piece = data[start : start + MSS]
            frames.append(self._frame(src, dst, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, piece))
            src.seq = (src.seq + len(piece)) & 0xFFFFFFFF
        if frames:
            frames.append(self._frame(dst, src, dpkt.tcp.TH_ACK, b""))
        return frames

    def fin(self, from_client: bool) -> list[bytes]:
        """One side's FIN, and the other side's acknowledgement of it."""
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        frames = [self._frame(src, dst, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK, b"")]
        src.seq = (src.seq + 1) & 0xFFFFFFFF
        frames.append(self._frame(dst, src, dpkt.tcp.TH_ACK, b""))
        return frames

    def _frame(self, src: _Side, dst: _Side, flags: int, data: bytes, *, ack: bool = True) -> bytes:
        tcp = dpkt.tcp.TCP(
            sport=src.endpoint[1],
            dport=dst.endpoint[1],
            seq=src.seq,
            ack=dst.seq if ack else 0,
            flags=flags,
            win=WINDOW,
            data=data,
        )
        source = socket.inet_pton(self._family, src.endpoint[0])
        destination = socket.inet_pton(self._family, dst.endpoint[0])
        ip: dpkt.Packet
        if self._family == socket.AF_INET6:
            ip = dpkt.ip6.IP6(
                src=source, dst=destination, nxt=dpkt.ip.IP_PROTO_TCP, hlim=64, data=tcp
            )
            ip.plen = len(tcp)
            kind = dpkt.ethernet.ETH_TYPE_IP6
        else:
            ip = dpkt.ip.IP(src=source, dst=destination, p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=tcp)
            kind = dpkt.ethernet.ETH_TYPE_IP
        frame = dpkt.ethernet.Ethernet(src=src.mac, dst=dst.mac, type=kind, data=ip)
        return bytes(frame)
