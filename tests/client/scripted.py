"""Scripted MSNP servers for the client tests: each test writes its server's side."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio
import trio.testing

from msmgr.client import Session
from msmgr.codec import Command, login_hash
from msmgr.stream import CommandStream, ConnectionClosed, Role

HOST = "127.0.0.1"
ALICE = "alice@example.com"
ALICE_PW = "alice-password"
SALT = "1013928519.693957190"
CHALLENGE = "lc=1033,id=507,tw=40,fs=1,ct=1,kpp=1,kv=5"
TICKET = "t=T&p=P"


class Peer:
    """The server end of one connection, driven by a test script."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.cs = CommandStream(stream, Role.SERVER)

    async def expect(self, verb: str) -> Command:
        """The next command from the client, which must be ``verb``."""
        command = await self.cs.receive()
        assert command.verb == verb, f"expected {verb}, got {command.line!r}"
        return command

    async def receive_or_eof(self) -> Command | None:
        """The next command, or None when the client hung up."""
        try:
            return await self.cs.receive()
        except ConnectionClosed:
            return None

    async def send(
        self, verb: str, trid: int | None = None, *args: str, payload: bytes | None = None
    ) -> None:
        await self.cs.send(Command(verb, trid, tuple(args), payload))

    async def reply(self, request: Command, *args: str) -> None:
        """Answer ``request`` with its own verb and TrID."""
        await self.send(request.verb, request.trid, *args)

    async def md5_login(
        self, version: str = "MSNP7", handle: str = ALICE, password: str = ALICE_PW
    ) -> None:
        """Play the server side of a whole MD5 login (VER, INF, USR I, USR S, OK)."""
        ver = await self.expect("VER")
        assert version in ver.args
        await self.reply(ver, version)
        inf = await self.expect("INF")
        await self.reply(inf, "MD5")
        usr = await self.expect("USR")
        assert usr.args == ("MD5", "I", handle)
        await self.reply(usr, "MD5", "S", SALT)
        usr = await self.expect("USR")
        if usr.args[2] == login_hash(SALT, password):
            await self.reply(usr, "OK", handle, "Alice%20A.")
        else:
            await self.send("911", usr.trid)

    async def twn_login(self, version: int = 8, handle: str = ALICE) -> Command:
        """Play the server side of a Passport login (VER, CVR, USR TWN I/S) at MSNP8-12.

        The ticket must be ``TICKET`` (what ``FakePassport`` hands out). MSNP10+ leave the
        friendly name out of ``USR OK``; MSNP11+ follow it with ``SBS 0 null``. Returns
        the client's CVR.
        """
        ver = await self.expect("VER")
        assert f"MSNP{version}" in ver.args
        await self.reply(ver, f"MSNP{version}")
        cvr = await self.expect("CVR")
        await self.reply(cvr, "7.0.0816", "7.0.0816", "6.0.0602", "x", "y")
        usr = await self.expect("USR")
        assert usr.args == ("TWN", "I", handle)
        await self.reply(usr, "TWN", "S", CHALLENGE)
        usr = await self.expect("USR")
        assert usr.args == ("TWN", "S", TICKET)
        name = ("Alice%20A.",) if version < 10 else ()
        await self.reply(usr, "OK", handle, *name, "1", "0")
        if version >= 11:
            await self.send_line("SBS 0 null")
        return cvr

    async def send_line(self, line: str) -> None:
        """Send one line exactly as written (CRLF added)."""
        await self.cs.send_bytes(line.encode() + b"\r\n")

    async def aclose(self) -> None:
        await self.cs.aclose()


class FakePassport:
    """Stands in for ``PassportClient``: checks the challenge, hands out ``TICKET``."""

    async def get_ticket(self, handle: str, password: str, challenge: str) -> str:
        assert (handle, password, challenge) == (ALICE, ALICE_PW, CHALLENGE)
        return TICKET


def passport_session(address: tuple[str, int], **options: Any) -> Session:
    """A Session for ALICE on the scripted server at ``address``, tickets from ``FakePassport``."""
    return Session(
        ALICE,
        ALICE_PW,
        server=address,
        passport=FakePassport(),  # type: ignore[arg-type]
        **options,
    )


Script = Callable[[Peer], Awaitable[None]]


async def serve(nursery: trio.Nursery, script: Script) -> tuple[str, int]:
    """Listen on 127.0.0.1 (port 0); run ``script`` for each connection; return the address."""

    async def handle(stream: trio.SocketStream) -> None:
        peer = Peer(stream)
        try:
            await script(peer)
        finally:
            await peer.aclose()

    listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host=HOST))
    return HOST, listeners[0].socket.getsockname()[1]


COOKIE = "17262740.1050826919.32308"


async def serve_ns_and_sb(nursery: trio.Nursery, sb_script: Script) -> tuple[str, int]:
    """An NS that logs alice in (MSNP7) and hands out one switchboard running ``sb_script``."""
    sb_host, sb_port = await serve(nursery, sb_script)

    async def ns(peer: Peer) -> None:
        await peer.md5_login()
        xfr = await peer.expect("XFR")
        assert xfr.args == ("SB",)
        await peer.reply(xfr, "SB", f"{sb_host}:{sb_port}", "CKI", COOKIE)
        await peer.expect("OUT")

    return await serve(nursery, ns)


class MemoryServer:
    """Memory-stream connections (autojump-clock tests): each ``open_stream`` runs ``script``."""

    def __init__(self, nursery: trio.Nursery, script: Script) -> None:
        self.nursery = nursery
        self.script = script
        self.opened: list[tuple[str, int]] = []

    async def open_stream(self, host: str, port: int) -> trio.abc.Stream:
        self.opened.append((host, port))
        client, server = trio.testing.memory_stream_pair()
        self.nursery.start_soon(self._run, server)
        return client

    async def _run(self, stream: trio.abc.Stream) -> None:
        peer = Peer(stream)
        try:
            await self.script(peer)
        finally:
            await peer.aclose()


async def until(predicate: Callable[[], object], step: float = 0.01) -> None:
    """Wait until ``predicate()`` is true (tests wrap this in ``trio.fail_after``)."""
    while not predicate():  # noqa: ASYNC110 - polls state a handler or server script sets
        await trio.sleep(step)
