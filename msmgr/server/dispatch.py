"""msmgr/server/dispatch: the dispatch server, whose only job is to redirect to the NS.

After VER (and optionally INF/CVR), ``USR trid MD5 I email`` (MSNP2-7) or
``USR trid TWN I email`` (MSNP8-12) is answered with ``XFR trid NS ...`` in the form of the
negotiated version; the client then closes and goes to the NS. PNG is answered; OUT
closes; anything else is ``715`` (not expected here).
"""

from __future__ import annotations

import logging

import trio

from msmgr.codec import Command
from msmgr.codec.versions import TWEENER

from . import formats
from .context import ServerContext, command_loop, unexpected
from .handshake import Handshake, Outcome

logger = logging.getLogger(__name__)


async def handle_dispatch(ctx: ServerContext, stream: trio.SocketStream) -> None:
    """Serve one client connection to the dispatch server."""
    conn = ctx.connection(stream, "DS")
    handshake = Handshake(conn)

    async def handle(command: Command) -> bool:
        outcome = await handshake.handle(command)
        if outcome is not Outcome.NOT_MINE:
            return outcome is Outcome.HANDLED
        version = handshake.version
        assert version is not None
        verb = command.verb
        if verb == "USR":
            scheme = "TWN" if version >= TWEENER else "MD5"
            if len(command.args) != 3 or command.args[1] != "I":
                await conn.send(formats.error(201, command.trid))
            elif command.args[0] != scheme:
                await conn.send(formats.error(911, command.trid))
            else:
                await conn.send(formats.xfr_ns(command.trid, version, ctx.ns, ctx.ds))
                logger.info("%s: %s redirected to NS %s:%d", conn, command.args[2], *ctx.ns)
            return True
        if verb == "PNG":
            await conn.send(formats.qng(version))
            return True
        if verb == "OUT":
            await conn.send(Command("OUT"))
            return False
        await conn.send(formats.error(unexpected(verb), command.trid))
        return True

    await conn.run(lambda: command_loop(conn, handle))
