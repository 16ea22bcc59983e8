"""msproxy/interchange/exporter: a capture -> a pcap file of synthetic TCP/IP packets.

Every connection of the capture becomes a TCP connection between its recorded client
and upstream addresses (made-up documentation addresses where the capture has none, or
a host name): the handshake at its ``open`` time, then the exact bytes of each ``cmd``,
``run`` and ``raw`` record at the record's time, and the FINs at its ``close`` time
(``finished`` for the second). Packets go out in time order (records are in handling
order in a capture, not time order); a record earlier than its connection's ``open`` is
moved to it. ``as_received``: what each side received (redirects with the proxy's
rewritten address, bytes the proxy did not forward left out) instead of what each side
sent.

The whole capture's packets are sorted in memory (a capture is far smaller than the
traffic it records, and an export is for Wireshark, which holds it all anyway).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import dpkt

from msmgr.codec import format_address, parse_address
from msmgr.codec.redirect import replace_token
from msproxy.capture import Record, read_capture, rebuild

from .packets import SyntheticConnection
from .segments import Endpoint

MADE_UP_CLIENT_V4 = "192.0.2.{}"
MADE_UP_SERVER_V4 = "203.0.113.1"
MADE_UP_CLIENT_V6 = "2001:db8::2:{:x}"
MADE_UP_SERVER_V6 = "2001:db8::1"
MADE_UP_CLIENT_PORT = 40000
MADE_UP_SERVER_PORT = 1863


@dataclass(slots=True)
class ExportStats:
    """What an export wrote."""

    connections: int = 0
    packets: int = 0
    made_up: list[int] = field(default_factory=list)  # connections with a made-up address


@dataclass(slots=True)
class _Conn:
    number: int
    opened: float | None = None
    client: str | None = None
    upstream: str | None = None
    closed: tuple[float, str, float | None] | None = None  # (t, by, finished)
    first: float | None = None  # the time of its first data record
    last: float | None = None  # the time of its last data record


@dataclass(slots=True)
class _Event:
    t: float
    order: int
    conn: int
    what: str  # "open", "c2s", "s2c", "fin-client", "fin-server"
    data: bytes = b""


def export_capture(
    capture: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    as_received: bool = False,
) -> ExportStats:
    """Write the connections of ``capture`` to the new pcap file ``output``.

    Raises:
        msproxy.capture.CaptureFormatError: a malformed capture.
        OSError: ``capture`` cannot be read, or ``output`` exists or cannot be created.
    """
    conns: dict[int, _Conn] = {}
    events = _events(read_capture(capture), conns, as_received=as_received)
    stats = ExportStats()
    for conn in conns.values():
        if conn.opened is None:
            conn.opened = conn.first if conn.first is not None else 0.0
        events.append(_Event(conn.opened, -1, conn.number, "open"))
        if conn.closed is not None:
            t, by, finished = conn.closed
            t = max(t, conn.last or t, conn.opened)
            second = max(finished or t, t)
            first_side, other = ("client", "server") if by == "client" else ("server", "client")
            events.append(_Event(t, 1 << 62, conn.number, f"fin-{first_side}"))
            events.append(_Event(second, 1 << 62 | 1, conn.number, f"fin-{other}"))
    for event in events:
        if event.what in ("c2s", "s2c"):
            opened = conns[event.conn].opened
            assert opened is not None
            event.t = max(event.t, opened)
    events.sort(key=lambda e: (e.t, e.order))
    synthetic: dict[int, SyntheticConnection] = {}
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as stream:
        writer = dpkt.pcap.Writer(stream, linktype=dpkt.pcap.DLT_EN10MB)
        for event in events:
            if event.what == "open":
                client, server, made_up = _addresses(conns[event.conn])
                if made_up:
                    stats.made_up.append(event.conn)
                connection = synthetic[event.conn] = SyntheticConnection(client, server)
                frames = connection.handshake()
                stats.connections += 1
            elif event.what in ("c2s", "s2c"):
                frames = synthetic[event.conn].data(event.what == "c2s", event.data)
            else:
                frames = synthetic[event.conn].fin(event.what == "fin-client")
            micros = round(event.t * 1_000_000)
            ts = micros // 1_000_000 + (micros % 1_000_000) / 1_000_000
            for frame in frames:
                writer.writepkt_time(frame, ts)
            stats.packets += len(frames)
    return stats


def _events(
    records: Iterable[Record], conns: dict[int, _Conn], *, as_received: bool
) -> list[_Event]:
    """The data events of every connection, in file order; fills ``conns``."""
    events: list[_Event] = []
    last_s2c: dict[int, _Event] = {}  # the last server command of each connection
    for order, record in enumerate(records):
        kind = record.get("type")
        number = record.get("conn")
        if kind == "header" or not isinstance(number, int):
            continue
        conn = conns.get(number)
        if conn is None:
            conn = conns[number] = _Conn(number)
        t = float(record.get("t", 0.0))
        if kind == "open":
            conn.opened, conn.client, conn.upstream = (
                t,
                record.get("client"),
                record.get("upstream"),
            )
        elif kind == "close":
            finished = record.get("finished")
            conn.closed = (t, str(record.get("by")), float(finished) if finished else None)
        elif kind in ("cmd", "raw", "run"):
            if kind == "raw" and as_received and record.get("forwarded") is False:
                continue
            direction = record.get("dir")
            event = _Event(t, order, number, str(direction), rebuild(record))
            events.append(event)
            conn.last = t if conn.last is None else max(conn.last, t)
            conn.first = t if conn.first is None else min(conn.first, t)
            if direction == "s2c" and kind == "cmd":
                last_s2c[number] = event
        elif kind == "rewrite" and as_received and number in last_s2c:
            event = last_s2c[number]
            event.data = _rewritten(event.data, str(record["original"]), str(record["new"]))
    return events


def _rewritten(line: bytes, original: str, new: str) -> bytes:
    """``line`` with its token ``original`` (the redirect's address) replaced by ``new``."""
    body = line.split(b"\n", 1)[0].rstrip(b"\r")
    tokens = body.split(b" ")
    wanted = original.encode("utf-8")
    if wanted not in tokens:
        return line
    return replace_token(line, tokens.index(wanted), new.encode("utf-8"))


def _addresses(conn: _Conn) -> tuple[Endpoint, Endpoint, bool]:
    """The connection's client and server (made up where unknown); whether made up."""
    client = _endpoint(conn.client)
    server = _endpoint(conn.upstream)
    made_up = client is None or server is None
    if client is not None and server is not None and (":" in client[0]) != (":" in server[0]):
        server, made_up = None, True  # (one family per connection)
    v6 = client is not None and ":" in client[0]
    if client is None:
        n = conn.number
        host = MADE_UP_CLIENT_V6.format(n) if v6 else MADE_UP_CLIENT_V4.format(n % 250 + 1)
        client = (host, MADE_UP_CLIENT_PORT + n % 20000)
    if server is None:
        port = _port(conn.upstream)
        server = (MADE_UP_SERVER_V6 if ":" in client[0] else MADE_UP_SERVER_V4, port)
    return client, server, made_up


def _endpoint(text: str | None) -> Endpoint | None:
    """``host:port`` when its host is an IP address, else None."""
    if not text:
        return None
    try:
        host, port = parse_address(text, None)
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return format_address(host, port).rsplit(":", 1)[0].strip("[]"), port


def _port(text: str | None) -> int:
    try:
        return parse_address(text or "", MADE_UP_SERVER_PORT)[1]
    except ValueError:
        return MADE_UP_SERVER_PORT
