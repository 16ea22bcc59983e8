"""msproxy/interchange/pcapfile: the TCP segments of a pcap or pcapng file, read with dpkt.

Link types: Ethernet (with VLAN tags), Linux cooked capture v1 (SLL) and v2 (SLL2), BSD
loopback/null (either byte order), and raw IP (the several numbers tcpdump and
Wireshark use for it); IPv4 and IPv6. Packets that are not TCP, IP fragments, and
segments cut short by the snapshot length (their data would be wrong) are counted and
skipped; a truncated last packet ends the file.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import dpkt

from .segments import Segment

logger = logging.getLogger(__name__)

ETHERNET = 1
NULL = 0
LOOP = 108
LINUX_SLL = 113
LINUX_SLL2 = 276
RAW_IP = frozenset({12, 14, 101})
IPV4 = 228
IPV6 = 229
LINK_TYPES = frozenset({ETHERNET, NULL, LOOP, LINUX_SLL, LINUX_SLL2, IPV4, IPV6, *RAW_IP})
"""The link types read (``LINKTYPE_*`` numbers)."""

PROGRESS_EVERY = 4096
"""Packets between two calls of the progress callback."""


class PcapError(Exception):
    """A file that is not a pcap or pcapng file of a link type read here."""


@dataclass(slots=True)
class ReadStats:
    """What was read from the packet files."""

    packets: int = 0
    segments: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> packets

    def skip(self, reason: str) -> None:
        """Count one packet skipped for ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def read_segments(
    stream: BinaryIO,
    stats: ReadStats,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Segment]:
    """The TCP segments of the pcap/pcapng file open in ``stream``, in file order.

    Args:
        stream: the file, open for reading in binary mode (seekable).
        stats: counts packets, segments and skipped packets.
        progress: called now and then with the file offset reached.

    Raises:
        PcapError: not a pcap/pcapng file, or a link type not read here.
    """
    try:
        reader: Any = dpkt.pcap.UniversalReader(stream)
    except (ValueError, dpkt.NeedData) as exc:
        raise PcapError(f"not a pcap or pcapng file ({exc})") from None
    link = int(reader.datalink())
    if link not in LINK_TYPES:
        raise PcapError(f"link type {link} is not one read here ({sorted(LINK_TYPES)})")
    count = 0
    try:
        for ts, frame in reader:
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(stream.tell())
            stats.packets += 1
            segment = _segment(link, float(ts), frame, stats)
            if segment is not None:
                stats.segments += 1
                yield segment
    except dpkt.NeedData:
        stats.skip("truncated file")
        logger.warning("the packet file ends in the middle of a packet")
    if progress is not None:
        progress(stream.tell())


def _segment(link: int, t: float, frame: bytes, stats: ReadStats) -> Segment | None:
    try:
        ip = _network_layer(link, frame)
    except (dpkt.UnpackError, dpkt.NeedData, ValueError):
        stats.skip("undecodable")
        return None
    if isinstance(ip, dpkt.ip.IP):
        if ip.p != dpkt.ip.IP_PROTO_TCP:
            stats.skip("not TCP")
            return None
        if ip.mf or ip.offset:
            stats.skip("IP fragment")
            return None
        family, expected = socket.AF_INET, ip.len - ip.hl * 4
    elif isinstance(ip, dpkt.ip6.IP6):
        if not isinstance(ip.data, dpkt.tcp.TCP):
            stats.skip("not TCP")
            return None
        family, expected = socket.AF_INET6, None
    else:
        stats.skip("not IP")
        return None
    tcp = ip.data
    if not isinstance(tcp, dpkt.tcp.TCP):
        stats.skip("undecodable")
        return None
    data = bytes(tcp.data)
    if expected is not None and len(data) < expected - tcp.off * 4:
        stats.skip("cut short by the snapshot length")
        return None
    flags = int(tcp.flags)
    return Segment(
        t=t,
        src=(socket.inet_ntop(family, ip.src), int(tcp.sport)),
        dst=(socket.inet_ntop(family, ip.dst), int(tcp.dport)),
        seq=int(tcp.seq),
        ack=int(tcp.ack) if flags & dpkt.tcp.TH_ACK else None,
        syn=bool(flags & dpkt.tcp.TH_SYN),
        fin=bool(flags & dpkt.tcp.TH_FIN),
        rst=bool(flags & dpkt.tcp.TH_RST),
        data=data,
    )


def _network_layer(link: int, frame: bytes) -> object:
    """The IP packet of ``frame`` (a dpkt ``IP``/``IP6``), or whatever else it holds."""
    if link == ETHERNET:
        return dpkt.ethernet.Ethernet(frame).data
    if link == LINUX_SLL:
        return dpkt.sll.SLL(frame).data
    if link == LINUX_SLL2:
        return dpkt.sll2.SLL2(frame).data
    if link in (NULL, LOOP):
        return dpkt.loopback.Loopback(frame).data
    ip_family = frame[0] >> 4 if frame else 0  # the IP version nibble
    if ip_family == 4:
        return dpkt.ip.IP(frame)
    if ip_family == 6:
        return dpkt.ip6.IP6(frame)
    return None
