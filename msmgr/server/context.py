"""msmgr/server/context: what every connection handler of one server shares."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from msmgr.codec import Command, RemoteProtocolError
from msmgr.codec.versions import MAX_SERVED_VERSION, MIN_VERSION
from msmgr.stream import StreamClosed

from . import formats
from .config import ServerConfig
from .connection import Connection
from .state import ServerState

logger = logging.getLogger(__name__)

Address = tuple[str, int]


@dataclass
class ServerContext:
    """The configuration, the state and the advertised address of each role."""

    config: ServerConfig
    state: ServerState
    ds: Address
    ns: Address
    sb: Address
    http: Address

    def connection(self, stream: trio.SocketStream, role: str) -> Connection:
        """A client connection to ``role`` (DS, NS, SB) with the configured queue, write
        timeout and codec accelerator."""
        config = self.config
        return Connection(
            stream,
            role,
            queue_size=config.send_queue,
            send_timeout=config.send_timeout,
            accelerate=config.accelerate,
        )


def choose_version(offered: tuple[str, ...]) -> int | None:
    """The highest ``MSNPn`` in ``offered`` that this server speaks, or None."""
    best: int | None = None
    for token in offered:
        if token.startswith("MSNP") and token[4:].isdigit():
            n = int(token[4:])
            if MIN_VERSION <= n <= MAX_SERVED_VERSION and (best is None or n > best):
                best = n
    return best


async def command_loop(conn: Connection, handle: Callable[[Command], Awaitable[bool]]) -> None:
    """Feed each command to ``handle`` until it returns False or the client goes away.

    A line that is not MSNP (or breaks a limit) ends the connection: the framing is lost.
    The client is told the error's ``error_code_hint``, when it has one.
    """
    try:
        while True:
            command = await conn.commands.receive()
            logger.debug("%s <<< %s", conn, command)
            if not await handle(command):
                return
    except RemoteProtocolError as exc:
        logger.info("%s: protocol error, disconnecting: %s", conn, exc)
        if exc.error_code_hint is not None:
            conn.post(formats.error(exc.error_code_hint, 0))
    except StreamClosed:
        return


class CommandError(Exception):
    """A client command the server answers with a numeric error ``NNN trid``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


KNOWN_VERBS = frozenset(
    [
        "VER",
        "INF",
        "CVR",
        "USR",
        "XFR",
        "OUT",
        "CHG",
        "SYN",
        "GTC",
        "BLP",
        "PRP",
        "LST",
        "ADD",
        "REM",
        "REA",
        "ADG",
        "RMG",
        "REG",
        "SND",
        "URL",
        "PAG",
        "CHL",
        "QRY",
        "PNG",
        "ANS",
        "CAL",
        "MSG",
        "PGD",
        "ADC",
        "SBP",
        "UUX",
        "GCF",
    ]
)
"""Commands of MSNP2-12 clients: out of place they get 715, anything else gets 200."""


def unexpected(verb: str) -> int:
    """The error code for a command not handled in the current state."""
    return 715 if verb in KNOWN_VERBS else 200
