"""msmgr/server/app: ``serve_reference`` binds the four roles and serves them together.

Each role has its own listener and each connection its own task (``serve_limited``, under
``config.connection_limits``, counted over all roles together).
A connection handler never takes the server down: network errors and the client's
protocol errors (``RemoteProtocolError``) end only that connection; an unexpected
exception (a ``LocalProtocolError`` too: the server built an invalid command) is logged
with its traceback, counted in ``ServerState.internal_errors`` and ends only that
connection too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import NoReturn

import h11
import trio

from msmgr.codec import RemoteProtocolError
from msmgr.listeners import open_listeners
from msmgr.serving import ConnectionGate, serve_limited
from msmgr.stream import StreamClosed

from .config import ServerAddresses, ServerConfig
from .context import ServerContext
from .dispatch import handle_dispatch
from .notification import handle_notification
from .passport_http import handle_http
from .state import ServerState
from .switchboard import handle_switchboard

logger = logging.getLogger(__name__)

Handler = Callable[[ServerContext, trio.SocketStream], Awaitable[None]]
WILDCARDS = frozenset({"", "0.0.0.0", "::"})


async def _bind(host: str, port: int) -> tuple[list[trio.SocketListener], tuple[str, int]]:
    listeners = await open_listeners(port, host)
    sockname = listeners[0].socket.getsockname()
    return listeners, (str(sockname[0]), int(sockname[1]))


def _guarded(
    ctx: ServerContext, role: str, handler: Handler
) -> Callable[[trio.SocketStream], Awaitable[None]]:
    async def run(stream: trio.SocketStream) -> None:
        try:
            await handler(ctx, stream)
        except (
            StreamClosed,
            RemoteProtocolError,
            OSError,
            trio.BrokenResourceError,
            h11.ProtocolError,
        ) as exc:
            logger.info("%s connection ended: %s", role, exc)
        except Exception:
            ctx.state.internal_errors += 1
            logger.exception("%s connection failed with an internal error", role)
        finally:
            await trio.aclose_forcefully(stream)

    return run


async def _sweep(state: ServerState, interval: float) -> NoReturn:
    """Forget expired secrets and stale login counts every ``interval`` seconds."""
    while True:
        await trio.sleep(interval)
        removed = state.sweep()
        if removed:
            logger.debug("swept %d expired tickets, cookies and login counts", removed)


async def serve_reference(
    config: ServerConfig,
    *,
    state: ServerState | None = None,
    task_status: trio.TaskStatus[ServerAddresses] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Run the reference MSNP server (DS, NS, SB and Passport HTTP) until cancelled.

    Args:
        config: hosts, ports (0 = any free port), accounts and timers.
        state: the state to serve (default: a new one for ``config.users``); pass one to
            inspect it from tests.
        task_status: receives the bound ``ServerAddresses`` once all roles listen.
    """
    if state is None:
        state = ServerState.from_users(config.users, config.names)
    bound = {}
    listeners = {}
    for role, port in (
        ("ds", config.ds_port),
        ("ns", config.ns_port),
        ("sb", config.sb_port),
        ("http", config.http_port),
    ):
        listeners[role], bound[role] = await _bind(config.host, port)
    host = config.advertise_host or ("127.0.0.1" if config.host in WILDCARDS else bound["ds"][0])
    advertised = {role: (host, addr[1]) for role, addr in bound.items()}
    ctx = ServerContext(
        config, state, advertised["ds"], advertised["ns"], advertised["sb"], advertised["http"]
    )
    handlers: dict[str, Handler] = {
        "ds": handle_dispatch,
        "ns": handle_notification,
        "sb": handle_switchboard,
        "http": handle_http,
    }
    gate = ConnectionGate(config.connection_limits, name="msmgr server")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_sweep, state, config.sweep_interval)
        for role, handler in handlers.items():
            guarded = _guarded(ctx, role.upper(), handler)
            await nursery.start(partial(serve_limited, guarded, listeners[role], gate=gate))
            logger.debug("%s listening on %s:%d", role.upper(), *bound[role])
        task_status.started(
            ServerAddresses(
                advertised["ds"], advertised["ns"], advertised["sb"], advertised["http"]
            )
        )
        await trio.sleep_forever()
    raise AssertionError("unreachable")  # pragma: no cover
