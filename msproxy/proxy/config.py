"""msproxy/proxy/config: everything ``serve_proxy`` needs to know, in one frozen object."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import trio

from msmgr.codec import Limits
from msmgr.codec.versions import MSNP_PORT
from msmgr.debug import Debug
from msmgr.serving import ConnectionLimits
from msproxy.capture.records import FORMAT_VERSION
from msproxy.faults import FaultRule
from msproxy.view.subject import Subject

CONNECT_TIMEOUT = 10.0
"""Seconds to open an upstream connection, by default."""
FIRST_COMMAND_TIMEOUT = 60.0
"""Seconds a new client may take to send its first command, by default."""

Connect = Callable[[str, int], Awaitable[trio.abc.Stream]]
"""Opens a byte stream to (host, port); ``trio.open_tcp_stream`` by default."""


async def open_tcp(host: str, port: int) -> trio.abc.Stream:
    """The default ``Connect``: a TCP connection (hostnames resolved by trio)."""
    return await trio.open_tcp_stream(host, port)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyConfig:
    """How to run the proxy.

    Attributes:
        upstream: the DS (or NS) clients are sent to when no redirect is pending.
        listen: where to accept clients; port 0 picks a free port.
        capture: the capture file to create (None: no capture).
        capture_version: the capture format version to write: 2 (the default) keeps
            runs of ordinary commands in ``run`` records, 1 writes a ``cmd`` record per
            command (for readers that only know version 1).
        public_host: the host (optionally ``host:port``) written into rewritten
            redirects; default: the address the client reached the proxy on.
        redact: replace secrets in the capture (never in forwarded bytes).
        debug: Net::Msmgr debug flags selecting the console output.
        console_filter: which console lines about commands and connections are shown
            (``msproxy.view.filterlang.compile``); None: all. Warnings are always
            shown, and the capture is always complete.
        console_busy: True while the console's output is still writing earlier lines (a
            slow terminal or pipe): the console then counts commands instead of showing
            them (``msproxy.proxy.console``). None: never busy.
        connect_timeout: seconds to open an upstream connection.
        first_command_timeout: seconds a new client connection may take to send its
            first command (which routes it); a silent client is closed after that.
        idle_timeout: seconds a connection may go with neither side sending anything
            before the proxy closes it; None (the default): no limit.
        connection_limits: client connections open at once, in total and per client
            address (``msmgr.serving``); more are accepted and closed at once.
        redirect_ttl: seconds a redirect waits for the client's new connection.
        max_pending_redirects: bound on remembered redirects (oldest dropped first).
        max_ns_listeners: bound on the extra listeners, one per NS target.
        limits: line and payload limits; exceeding one closes that connection.
        accelerate: frame runs of ordinary commands and write their capture records
            with the C extension ``msproxy.capture._scan``; None (the default): when it
            is built; False: in Python (the same capture, byte for byte).
        codec_accelerate: the relay's framers use the codec's C extension
            ``msmgr.codec._cframe`` (``Framer(accelerate=...)``); None: when it is built.
        faults: fault rules applied to every connection (``msproxy.faults``; ``--fault``),
            in order; none (the default): nothing is changed.
        connect: how to open upstream connections (tests inject memory streams).
        clock: the time written into capture records (Unix seconds).
    """

    upstream: tuple[str, int]
    listen: tuple[str, int] = ("127.0.0.1", MSNP_PORT)
    capture: Path | None = None
    capture_version: int = FORMAT_VERSION
    public_host: str | None = None
    redact: bool = True
    debug: Debug = Debug.NONE
    console_filter: Callable[[Subject], bool] | None = None
    console_busy: Callable[[], bool] | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    first_command_timeout: float = FIRST_COMMAND_TIMEOUT
    idle_timeout: float | None = None
    connection_limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    redirect_ttl: float = 300.0
    max_pending_redirects: int = 10_000
    max_ns_listeners: int = 64
    limits: Limits = field(default_factory=Limits)
    accelerate: bool | None = None
    codec_accelerate: bool | None = None
    faults: tuple[FaultRule, ...] = ()
    connect: Connect = open_tcp
    clock: Callable[[], float] = time.time
