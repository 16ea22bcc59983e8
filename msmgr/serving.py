"""msmgr/serving: accepting connections under limits (the proxy and the reference server).

``serve_limited`` stands in for ``trio.serve_listeners``: one task per accepted
connection, in the handler nursery. A ``ConnectionGate`` shared by a server's listeners
counts its open connections, in total and per client address; a connection over either
cap is accepted and closed at once (the client sees a clean close, not a hang). When the
process is out of descriptors (``EMFILE``, ``ENFILE``) or memory, accepting pauses
``ACCEPT_PAUSE`` and retries by itself; the connection waits in the listen backlog.
Each of these conditions is logged once per ``ConnectionLimits.log_every`` seconds
(with how many more there were meanwhile), never once per attempt.

``raise_open_files_limit`` lifts the soft descriptor limit to the hard one, and
``fit_to_descriptors`` lowers the total cap to what that limit can hold; both are
process-wide matters, so the command lines call them, never the library.
"""

from __future__ import annotations

import errno
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, NoReturn

import trio

logger = logging.getLogger(__name__)

DEFAULT_MAX_CONNECTIONS = 10_000
"""Connections a server holds at once, by default, where the open-files limit allows so
many (``fit_to_descriptors`` lowers it quietly where it does not; the proxy's
connections use two descriptors each)."""
DEFAULT_MAX_PER_ADDRESS = 200
"""Connections one client address holds at once, by default: a few clients on one
machine, each with its NS and a handful of switchboards, stay far below it."""
ACCEPT_PAUSE = 0.1
"""Seconds accepting pauses when the process is out of descriptors, before retrying."""
LOG_EVERY = 10.0
"""Seconds between two log lines about the same limit."""
_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})

Handler = Callable[[Any], Awaitable[object]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionLimits:
    """How many connections a server holds at once; 0 means no cap.

    Attributes:
        total: connections open at once, all addresses together.
        per_address: connections open at once from one client IP address.
        log_every: seconds between two log lines about the same limit.
    """

    total: int = DEFAULT_MAX_CONNECTIONS
    per_address: int = DEFAULT_MAX_PER_ADDRESS
    log_every: float = LOG_EVERY


class Throttled:
    """A warning that occurs in bursts (a cap reached), logged once per period (to
    ``log``, this module's logger by default)."""

    def __init__(self, period: float, *, log: logging.Logger | None = None) -> None:
        self.period = period
        self.log = log if log is not None else logger
        self.occurred = 0  # how many times in all
        self._held = 0  # since the last line
        self._next = -float("inf")

    def note(self, message: str, *args: object) -> None:
        """Count one occurrence; log it unless a line was logged less than a period ago
        (the next line says how many were held back)."""
        self.occurred += 1
        now = trio.current_time()
        if now < self._next:
            self._held += 1
            return
        if self._held:
            message += " (%d more since the last such line)"
            args = (*args, self._held)
        self.log.warning(message, *args)
        self._held = 0
        self._next = now + self.period


class ConnectionGate:
    """A server's open connections by client address: admits or refuses new ones."""

    def __init__(self, limits: ConnectionLimits | None = None, *, name: str = "server") -> None:
        self.limits = limits if limits is not None else ConnectionLimits()
        self.name = name
        self.open = 0
        self.by_address: Counter[str] = Counter()
        period = self.limits.log_every
        self.full = Throttled(period)
        self.crowded = Throttled(period)
        self.exhausted = Throttled(period)

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address`` in, or refuse it (logged) when a cap
        is reached."""
        limits = self.limits
        if limits.total and self.open >= limits.total:
            self.full.note(
                "%s: %d connections open, the limit: new connections are closed at once",
                self.name,
                self.open,
            )
            return False
        if limits.per_address and self.by_address[address] >= limits.per_address:
            self.crowded.note(
                "%s: %s has %d connections open, the per-address limit: its new "
                "connections are closed at once",
                self.name,
                address or "a client",
                self.by_address[address],
            )
            return False
        self.open += 1
        self.by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        """A connection admitted from ``address`` ended."""
        self.open -= 1
        self.by_address[address] -= 1
        if not self.by_address[address]:
            del self.by_address[address]

    def out_of_descriptors(self, exc: OSError) -> None:
        """Accepting failed for want of descriptors or memory (logged once per period)."""
        self.exhausted.note(
            "%s: cannot accept connections: %s; retrying every %g s (%d connections open; "
            "raise `ulimit -n` or lower the connection limit)",
            self.name,
            exc.strerror or exc,
            ACCEPT_PAUSE,
            self.open,
        )


def peer_host(stream: object) -> str:
    """The IP address of a stream's peer ("" when it has none: a memory stream)."""
    sock = getattr(stream, "socket", None)
    try:
        peer = sock.getpeername() if sock is not None else None
    except OSError:
        return ""
    return str(peer[0]) if isinstance(peer, tuple) else ""


async def serve_limited(
    handler: Handler,
    listeners: Sequence[trio.abc.Listener[Any]],
    *,
    gate: ConnectionGate,
    handler_nursery: trio.Nursery | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Accept connections on ``listeners`` and run ``handler(stream)`` for each one that
    ``gate`` admits, in ``handler_nursery`` (default: a nursery of its own), closing the
    stream when it returns; runs until cancelled, closing the listeners."""
    async with trio.open_nursery() as nursery:
        handlers = handler_nursery if handler_nursery is not None else nursery
        for listener in listeners:
            nursery.start_soon(_serve_one, listener, handler, handlers, gate)
        task_status.started()
    raise AssertionError("unreachable")  # pragma: no cover


async def _serve_one(
    listener: trio.abc.Listener[Any],
    handler: Handler,
    nursery: trio.Nursery,
    gate: ConnectionGate,
) -> NoReturn:
    async with listener:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _CAPACITY_ERRNOS:
                    raise
                gate.out_of_descriptors(exc)
                await trio.sleep(ACCEPT_PAUSE)
                continue
            address = peer_host(stream)
            if gate.admit(address):
                nursery.start_soon(partial(_run, handler, stream, gate, address))
            else:
                await trio.aclose_forcefully(stream)


async def _run(handler: Handler, stream: Any, gate: ConnectionGate, address: str) -> None:
    try:
        await handler(stream)
    finally:
        gate.release(address)
        await trio.aclose_forcefully(stream)


def raise_open_files_limit() -> tuple[int, int] | None:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; (old, new) when it was raised,
    None when it was already there or cannot be (no ``resource`` module)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return None
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        logger.debug("cannot raise the open-files limit to %d: %s", target, exc)
        return None
    return soft, target


def open_files_limit() -> int | None:
    """The soft ``RLIMIT_NOFILE`` (None: unlimited, or no ``resource`` module)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def fit_to_descriptors(
    limits: ConnectionLimits,
    *,
    per_connection: int,
    reserve: int,
    available: int | None = None,
    asked: bool = True,
) -> ConnectionLimits:
    """``limits`` with a total cap that ``available`` descriptors (default: the soft
    limit now) can hold, each connection taking ``per_connection`` and ``reserve`` kept
    for listeners and files. Lowered when it was higher: with a warning when the cap was
    ``asked`` for, at INFO when it is the default. No cap (0) stays so: whoever asked for
    none gets none."""
    if available is None:
        available = open_files_limit()
    if available is None or not limits.total:
        return limits
    fits = max(1, (available - reserve) // per_connection)
    if limits.total <= fits:
        return limits
    logger.log(
        logging.WARNING if asked else logging.INFO,
        "the open-files limit (%d descriptors) holds about %d connections: the "
        "connection limit is lowered from %d to %d",
        available,
        fits,
        limits.total,
        fits,
    )
    return replace(limits, total=fits)
