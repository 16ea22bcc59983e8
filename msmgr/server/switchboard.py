"""msmgr/server/switchboard: switchboard sessions (conversations).

A client joins with ``USR trid email cookie`` (cookie from ``XFR SB``: a new
switchboard, ``USR trid OK email name``) or ``ANS trid email cookie sessid`` (cookie
from ``RNG``: ``IRO trid i n email name`` per participant, ``ANS trid OK``, and
``JOI email name`` to the others). A switchboard has no VER: each participant is served
in the version of its NS session, so MSNP12+ clients get ``IRO``/``JOI`` with the
participant's client capabilities (its CHG client id) at the end. Inside: ``CAL`` rings
a contact's NS connection (``RNG``), ``MSG trid U|N|A|D`` is relayed to every other
participant as ``MSG email name`` with the same payload bytes, and ``OUT`` or a
disconnect sends ``BYE email`` to the rest. Acknowledgements: ``U`` none; ``N`` a
``NAK`` only when nobody else is there; ``A`` and ``D`` (MSNP9 binary P2P, accepted from
every version) ``ACK`` when relayed, ``NAK`` when nobody else is there (the originals'
282 for malformed P2P data is not checked: payloads are opaque here). A bad first
command, a failed join (911) or a wrong ack type closes the connection.
"""

from __future__ import annotations

import logging
import time

import trio

from msmgr.codec import Command

from . import formats
from .accounts import valid_handle
from .connection import Connection
from .context import CommandError, ServerContext, command_loop, unexpected
from .limits import CAL_BURST, CAL_RATE, CAL_REFUSALS, TokenBucket
from .state import Participant, SbSession

logger = logging.getLogger(__name__)

ACK_TYPES = frozenset({"U", "N", "A", "D"})


class SwitchboardConnection:
    """One client connection to the switchboard server."""

    def __init__(self, ctx: ServerContext, conn: Connection) -> None:
        self.ctx = ctx
        self.conn = conn
        self.board: SbSession | None = None
        self.me: Participant | None = None
        self.calls = TokenBucket(CAL_BURST, CAL_RATE, time.monotonic())
        self.refused_calls = 0

    async def run(self) -> None:
        """Serve commands until the client leaves; then say BYE to the others."""
        try:
            await command_loop(self.conn, self.handle)
        finally:
            self.leave()

    async def handle(self, command: Command) -> bool:
        try:
            if self.board is None or self.me is None:
                return await self.join(command)
            return await self.joined(self.board, self.me, command)
        except CommandError as exc:
            await self.conn.send(formats.error(exc.code, command.trid))
            return True

    async def join(self, command: Command) -> bool:
        state = self.ctx.state
        args = command.args
        board: SbSession | None = None
        if command.verb == "USR" and len(args) == 2:
            email = args[0]
            if email in state.sessions and state.take_sb_cookie(email, args[1]):
                board = state.new_switchboard()
        elif command.verb == "ANS" and len(args) == 3 and args[2].isdigit():
            email = args[0]
            board = state.take_invite(email, args[1], int(args[2]))
        else:
            logger.info("%s: %s is not a switchboard login, closing", self.conn, command.verb)
            return False
        account = state.accounts.get(email)
        if board is None or account is None:
            await self.conn.send(formats.error(911, command.trid))
            return False
        session = state.sessions.get(email)
        version, caps = (session.version, session.client_id) if session else (2, 0)
        me = Participant(email, account.name, self.conn, version, caps)
        if command.verb == "USR":
            replies = [Command("USR", command.trid, ("OK", email, account.name))]
        else:
            others = list(board.participants.values())
            replies = [
                formats.iro(command.trid, version, i, len(others), p.email, p.name, p.caps)
                for i, p in enumerate(others, 1)
            ]
            replies.append(Command("ANS", command.trid, ("OK",)))
            for other in others:
                other.outbox.post(formats.joi(other.version, email, account.name, caps))
        board.participants[email] = me
        self.board, self.me = board, me
        logger.info("%s: %s joined switchboard %d", self.conn, email, board.sessid)
        await self.conn.send(*replies)
        return True

    async def joined(self, board: SbSession, me: Participant, command: Command) -> bool:
        verb = command.verb
        if verb == "MSG":
            if (
                command.payload is None
                or len(command.args) != 1
                or command.args[0] not in ACK_TYPES
            ):
                logger.info("%s: malformed MSG, closing", self.conn)
                return False
            await self.conn.send(
                *self.relay(board, me, command.trid, command.args[0], command.payload)
            )
        elif verb == "CAL":
            try:
                reply = self.call(board, me, command)
            except CommandError as exc:
                if exc.code != 713:
                    raise
                self.refused_calls += 1
                await self.conn.send(formats.error(713, command.trid))
                if self.refused_calls >= CAL_REFUSALS:
                    logger.info("%s: %d CALs refused in a row, closing", self.conn, CAL_REFUSALS)
                    return False
                return True
            self.refused_calls = 0
            await self.conn.send(reply)
        elif verb == "OUT":
            return False
        else:
            raise CommandError(unexpected(verb))
        return True

    def relay(
        self, board: SbSession, me: Participant, trid: int | None, ack: str, payload: bytes
    ) -> list[Command]:
        others = [p for p in board.participants.values() if p is not me]
        message = Command("MSG", None, (me.email, me.name), payload)
        for other in others:
            other.outbox.post(message)
        if not others:
            return [] if ack == "U" else [Command("NAK", trid)]
        return [Command("ACK", trid)] if ack in ("A", "D") else []

    def call(self, board: SbSession, me: Participant, command: Command) -> Command:
        state = self.ctx.state
        if len(command.args) != 1 or not valid_handle(command.args[0]):
            raise CommandError(208)
        email = command.args[0]
        if email in board.participants:
            raise CommandError(215)
        session = state.online(email)
        if session is None or session.status == "HDN":
            raise CommandError(217)
        if not state.accounts[email].allows(me.email):
            raise CommandError(216)
        if not self.calls.take(time.monotonic()):
            raise CommandError(713)  # this connection calls too often
        if session.outbox.room() <= self.ctx.config.send_queue // 2:
            raise CommandError(713)  # the callee is not reading: ringing more would drop it
        cookie = state.invite(board, email)
        session.outbox.post(formats.rng(board.sessid, self.ctx.sb, cookie, me.email, me.name))
        return Command("CAL", command.trid, ("RINGING", str(board.sessid)))

    def leave(self) -> None:
        """Leave the switchboard (once), telling the others."""
        board, me = self.board, self.me
        self.board = self.me = None
        if board is None or me is None:
            return
        board.participants.pop(me.email, None)
        for other in board.participants.values():
            other.outbox.post(Command("BYE", None, (me.email,)))
        self.ctx.state.drop_if_empty(board)
        logger.info("%s: %s left switchboard %d", self.conn, me.email, board.sessid)


async def handle_switchboard(ctx: ServerContext, stream: trio.SocketStream) -> None:
    """Serve one client connection to the switchboard server."""
    conn = ctx.connection(stream, "SB")
    await conn.run(SwitchboardConnection(ctx, conn).run)
