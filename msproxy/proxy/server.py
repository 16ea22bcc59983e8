"""msproxy/proxy/server: ``serve_proxy``, the listener and what all sessions share.

The main listener takes a client's first connection, which goes to the configured
upstream (the DS), and its switchboard connections (``XFR SB``/``RNG``), recognised by
their cookie. Each NS target named in an ``XFR NS`` gets a listener of its own (opened
on first use, bounded), so that NS connections, which start with ``VER`` like a DS
connection, go to exactly the server the redirect named (the policy: ``routing``). The
proxy connects to nothing else: no open relay.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import socket
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import trio

from msmgr.codec.address import format_address
from msmgr.debug import Debug, flag_logger
from msmgr.listeners import open_listeners
from msmgr.serving import ConnectionGate, serve_limited
from msproxy import __version__
from msproxy.capture import CaptureWriter
from msproxy.capture.scan import fast_path_status

from .config import ProxyConfig
from .console import Console
from .loops import LoopWatch
from .loss import CaptureLoss
from .redact import Redactor
from .routing import Router
from .session import Session
from .sink import CaptureSink

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProxyListening:
    """What ``serve_proxy`` reports once it accepts connections."""

    address: tuple[str, int]
    listeners: list[trio.SocketListener]
    capture: Path | None
    sink: CaptureSink | None = None

    @property
    def loss(self) -> CaptureLoss | None:
        """What the capture lost when a write to it failed (None: nothing lost)."""
        return self.sink.loss if self.sink is not None else None

    @property
    def url(self) -> str:
        """``host:port`` of the listener, as a client would be told."""
        return format_address(*self.address)


class UpstreamLoopError(ValueError):
    """Raised at start when the upstream is the proxy's own listening address (every
    connection would come back into the proxy)."""


class Proxy:
    """State shared by all sessions: config, capture sink, routing (pending redirects).

    ``handle_client`` runs one session; ``serve_proxy`` feeds it from the listener, and
    tests may call it with any ``trio.abc.Stream`` (memory streams included).
    """

    def __init__(self, config: ProxyConfig, sink: CaptureSink, *, port: int) -> None:
        self.config = config
        self.sink = sink
        self.port = port
        self.router = Router(
            upstream=config.upstream,
            port=port,
            public_host=config.public_host,
            listen_host=config.listen[0],
            ttl=config.redirect_ttl,
            max_pending=config.max_pending_redirects,
            max_ns_listeners=config.max_ns_listeners,
        )
        self.redactor = Redactor() if config.redact else None
        self.gate = ConnectionGate(config.connection_limits, name="msproxy")
        self.loops = LoopWatch()
        self._ids = itertools.count(1)
        self.now = config.clock
        self.active = 0
        self.nursery: trio.Nursery | None = None
        self.console: Console | None = None  # (set while serve_proxy runs one)
        self._loggers = {flag: flag_logger(flag) for flag in Debug}
        self._console = [
            (int(flag), self._loggers[flag])
            for flag in Debug
            if flag & config.debug and flag is not Debug.CONFUSED
        ]

    def logger(self, flag: Debug) -> logging.Logger:
        """The console logger of a debug flag (``msmgr.debug.<flag>``)."""
        logger = self._loggers.get(flag)
        return logger if logger is not None else flag_logger(flag)

    def debug_now(self) -> Debug:
        """``config.debug`` without the flags whose console logger is off right now, so
        that no log line is built for nothing (CONFUSED warnings are always kept)."""
        mask = int(self.config.debug)
        for bit, logger in self._console:
            if not logger.isEnabledFor(logging.DEBUG):
                mask &= ~bit
        return Debug(mask)

    async def open_ns_listener(self, target: tuple[str, int]) -> int | None:
        """Open a listener whose connections go to NS ``target``; its port, or None when
        the proxy has no nursery to serve it (``handle_client`` used alone) or binding
        fails. (Whether one is needed is the ``Router``'s decision.)"""
        if self.nursery is None:
            return None
        try:
            listeners = await open_listeners(0, self.config.listen[0])
        except OSError as exc:
            logger.warning("cannot open an NS listener: %s", exc)
            return None
        port = int(listeners[0].socket.getsockname()[1])
        logger.info("NS %s is proxied on port %d", format_address(*target), port)
        handler = partial(self.handle_client, ns_target=target)
        self.nursery.start_soon(partial(serve_limited, handler, listeners, gate=self.gate))
        return port

    async def handle_client(
        self, stream: trio.abc.Stream, *, ns_target: tuple[str, int] | None = None
    ) -> None:
        """Proxy one client connection until it ends; never raises for its failures.

        ``ns_target``: the connection came to the listener of that NS (see ``ns_port``).
        """
        conn = next(self._ids)
        client_addr, local_addr = _addresses(stream)
        session = Session(
            self,
            conn,
            stream,
            client_addr=client_addr,
            local_addr=local_addr,
            ns_target=ns_target,
        )
        self.active += 1
        try:
            await session.run()
        except* (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as group:
            logger.warning("#%d ended with an error: %r", conn, group.exceptions[0])
        finally:
            self.active -= 1


def _addresses(
    stream: trio.abc.Stream,
) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    sock = getattr(stream, "socket", None)
    if sock is None:
        return None, None
    try:
        peer, local = sock.getpeername(), sock.getsockname()
    except OSError:
        return None, None
    return (peer[0], peer[1]), (local[0], local[1])


async def serve_proxy(
    config: ProxyConfig, *, task_status: trio.TaskStatus[ProxyListening] = trio.TASK_STATUS_IGNORED
) -> NoReturn:
    """Accept clients on ``config.listen`` and proxy them; runs until cancelled.

    Reports a ``ProxyListening`` through ``task_status`` once listening. On cancellation
    every open connection is closed and its close record written before the capture
    file is closed. A capture write that fails stops the capture, not the proxy: what
    was lost is in ``ProxyListening.loss``.

    Raises:
        OSError: the listener cannot be opened or the capture file cannot be created.
        UpstreamLoopError: the upstream is the proxy's own listening address.
    """
    host, port = config.listen
    listeners = await open_listeners(port, host)
    writer: CaptureWriter | None = None
    try:
        await check_not_itself(config.upstream, listeners)
        if config.capture is not None:
            writer = CaptureWriter(
                config.capture,
                tool=f"msproxy {__version__}",
                started=config.clock(),
                version=config.capture_version,
                upstream=format_address(*config.upstream),
                redacted=config.redact,
                **_fault_header(config),
            )
        sink = CaptureSink(writer)
        bound = listeners[0].socket.getsockname()
        proxy = Proxy(config, sink, port=bound[1])
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sink.run)
                proxy.console = Console(shows=config.console_filter, busy=config.console_busy)
                await nursery.start(proxy.console.run)
                proxy.nursery = nursery
                logger.info("listening on %s", format_address(bound[0], bound[1]))
                if writer is not None:
                    amiss, path = fast_path_status(config.accelerate)
                    logger.log(
                        logging.WARNING if amiss else logging.INFO,
                        "capture (format version %d): %s",
                        writer.version,
                        path,
                    )
                task_status.started(
                    ProxyListening((bound[0], bound[1]), listeners, config.capture, sink)
                )
                await serve_limited(
                    proxy.handle_client, listeners, gate=proxy.gate, handler_nursery=nursery
                )
        finally:
            sink.flush()
            if proxy.console is not None:  # the sessions' last lines (their closes)
                proxy.console.flush()
    finally:
        if writer is not None:
            writer.close()
        for listener in listeners:
            await trio.aclose_forcefully(listener)
    raise AssertionError("unreachable")  # pragma: no cover


def _fault_header(config: ProxyConfig) -> dict[str, Any]:
    """The header's ``faults``: the rules as given (their seeds chosen), when any."""
    return {"faults": [str(rule) for rule in config.faults]} if config.faults else {}


async def check_not_itself(upstream: tuple[str, int], listeners: list[trio.SocketListener]) -> None:
    """Refuse an upstream that is one of ``listeners``: the same port, and its host
    the listening address (or a name resolving to it), or any address of this machine
    when the listener is a wildcard (``0.0.0.0``, ``::``).

    Raises:
        UpstreamLoopError: the upstream is the proxy itself.
    """
    host, port = upstream
    bound = [listener.socket.getsockname()[:2] for listener in listeners]
    if all(port != listen_port for _, listen_port in bound):
        return  # the usual case: nothing to resolve
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:  # unresolvable now: each connection will say so
        logger.debug("cannot resolve the upstream %s at start: %s", host, exc)
        return
    targets = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    for listen_host, listen_port in bound:
        listen_ip = ipaddress.ip_address(listen_host.split("%")[0])
        for target in targets:
            if port != listen_port or target.version != listen_ip.version:
                continue
            if target.is_unspecified:  # connecting to 0.0.0.0 or :: reaches this machine
                target = ipaddress.ip_address(
                    "::1" if isinstance(target, ipaddress.IPv6Address) else "127.0.0.1"
                )
            if target == listen_ip or (listen_ip.is_unspecified and _is_local(target)):
                raise UpstreamLoopError(
                    f"the upstream {format_address(host, port)} is this proxy's own "
                    f"listening address {format_address(listen_host, listen_port)}: every "
                    "connection would loop back into the proxy (name the real server)"
                )


def _is_local(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is one of this machine's (loopback, or one it can bind)."""
    if address.is_loopback:
        return True
    family = socket.AF_INET6 if isinstance(address, ipaddress.IPv6Address) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True
