"""msmgr/server/handshake: VER, INF and CVR, which the DS and the NS answer alike.

* ``VER trid MSNPa MSNPb ... CVR0``: the highest offered version in MSNP2-MSNP12 is
  chosen and echoed (``VER trid MSNP12``); with none in common the server answers
  ``VER trid 0`` and closes.
* ``INF trid`` (MSNP2-7) -> ``INF trid MD5``; MSNP8 removed INF: the client is closed.
* ``CVR trid <7 or 8 params>`` -> ``CVR trid <recommended> <recommended> <minimum> <urls>``;
  too few parameters -> 710.
* Anything before VER closes the connection, as the originals did.
"""

from __future__ import annotations

import logging
from enum import Enum

from msmgr.codec import Command
from msmgr.codec.versions import TWEENER

from . import formats
from .connection import Connection
from .context import choose_version

logger = logging.getLogger(__name__)


class Outcome(Enum):
    """What the handshake made of a command."""

    HANDLED = "handled"
    CLOSE = "close"
    NOT_MINE = "not mine"


class Handshake:
    """The VER/INF/CVR state of one DS or NS connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.version: int | None = None

    async def handle(self, command: Command) -> Outcome:
        """Answer VER/INF/CVR; close on anything before VER."""
        conn = self.conn
        if command.verb == "VER":
            version = choose_version(command.args)
            await conn.send(formats.ver_reply(command.trid, version))
            if version is None:
                logger.info("%s: no common version in %s", conn, " ".join(command.args))
                return Outcome.CLOSE
            self.version = version
            conn.commands.dialect.version = version
            return Outcome.HANDLED
        if self.version is None:
            logger.info("%s: %s before VER, closing", conn, command.verb)
            return Outcome.CLOSE
        if command.verb == "INF":
            if self.version >= TWEENER:
                logger.info("%s: INF is gone since MSNP8, closing", conn)
                return Outcome.CLOSE
            await conn.send(Command("INF", command.trid, ("MD5",)))
            return Outcome.HANDLED
        if command.verb == "CVR":
            if len(command.args) < 7:
                await conn.send(formats.error(710, command.trid))
            else:
                await conn.send(Command("CVR", command.trid, formats.CVR_REPLY))
            return Outcome.HANDLED
        return Outcome.NOT_MINE
