"""Scripted MSNP clients for the reference server tests (also usable by other suites)."""

from __future__ import annotations

from typing import ClassVar

import trio

from msmgr.codec import Command, login_hash
from msmgr.server import ServerAddresses
from msmgr.stream import CommandStream, Role, StreamClosed

from .passport import passport_ticket

Address = tuple[str, int]


class ScriptedClient:
    """One client connection driven line by line by a test."""

    opened: ClassVar[list[ScriptedClient]] = []  # closed by the conftest's autouse fixture

    def __init__(self, stream: trio.SocketStream) -> None:
        self.commands = CommandStream(stream, Role.CLIENT)
        self.trid = 0
        ScriptedClient.opened.append(self)

    @classmethod
    async def connect(cls, address: Address) -> ScriptedClient:
        return cls(await trio.open_tcp_stream(*address))

    async def send(self, verb: str, *args: str, payload: bytes | None = None) -> int:
        """Send ``VERB trid args...`` with the next TrID; return the TrID."""
        self.trid += 1
        await self.commands.send(Command(verb, self.trid, tuple(args), payload))
        return self.trid

    async def send_line(self, data: bytes) -> None:
        await self.commands.send_bytes(data)

    async def recv(self) -> Command:
        return await self.commands.receive()

    async def expect(self, verb: str, trid: int | None = None) -> Command:
        """The next command, which must be ``verb`` (with ``trid`` if given)."""
        command = await self.recv()
        assert command.verb == verb, f"expected {verb}, got {command.line!r}"
        if trid is not None:
            assert command.trid == trid, f"expected TrID {trid}: {command.line!r}"
        return command

    async def sync(self) -> list[Command]:
        """Everything the server sent before the answer to a PNG (a barrier)."""
        await self.commands.send(Command("PNG"))
        seen: list[Command] = []
        while (command := await self.recv()).verb != "QNG":
            seen.append(command)
        return seen

    async def sync_or_closed(self) -> list[Command]:
        """Like ``sync``, but also ends when the server closes the connection."""
        seen: list[Command] = []
        try:
            await self.commands.send(Command("PNG"))
            while (command := await self.recv()).verb != "QNG":
                seen.append(command)
        except StreamClosed:
            pass
        return seen

    async def closed(self) -> bool:
        """True when the server closes the connection (after any remaining lines)."""
        try:
            while True:
                await self.recv()
        except StreamClosed:
            return True

    async def aclose(self) -> None:
        await self.commands.aclose()


def versions(version: int) -> tuple[str, ...]:
    """A VER offer with ``version`` as its highest version (and CVR0)."""
    return (*(f"MSNP{v}" for v in range(version, max(1, version - 2), -1)), "CVR0")


async def hello(client: ScriptedClient, version: int) -> None:
    """VER (+ INF for MSNP2-7, CVR for MSNP8+) on a fresh DS or NS connection."""
    trid = await client.send("VER", *versions(version))
    assert (await client.expect("VER", trid)).args == (f"MSNP{version}",)
    if version < 8:
        trid = await client.send("INF")
        assert (await client.expect("INF", trid)).args == ("MD5",)
    else:
        trid = await client.send(
            "CVR", "0x0409", "winnt", "5.1", "i386", "MSNMSGR", "5.0.0515", "MSMSGS", "x@y.com"
        )
        await client.expect("CVR", trid)


async def redirect(addrs: ServerAddresses, email: str, version: int) -> Command:
    """The DS part of a login: the XFR NS it answers."""
    ds = await ScriptedClient.connect(addrs.ds)
    await hello(ds, version)
    trid = await ds.send("USR", "TWN" if version >= 8 else "MD5", "I", email)
    xfr = await ds.expect("XFR", trid)
    await ds.aclose()
    return xfr


def ns_address(xfr: Command) -> Address:
    host, _, port = xfr.args[1].rpartition(":")
    return host, int(port)


async def login(
    addrs: ServerAddresses, email: str, password: str, version: int
) -> tuple[ScriptedClient, Command]:
    """DS -> XFR NS -> NS login; the NS client and its final USR reply (OK or an error).

    The profile message after ``USR OK`` (and MSNP11+'s ``SBS 0 null`` before it) is
    consumed and checked.
    """
    xfr = await redirect(addrs, email, version)
    ns = await ScriptedClient.connect(ns_address(xfr))
    await hello(ns, version)
    scheme = "TWN" if version >= 8 else "MD5"
    trid = await ns.send("USR", scheme, "I", email)
    challenge = await ns.expect("USR", trid)
    assert challenge.args[:2] == (scheme, "S")
    if version >= 8:
        ticket = await passport_ticket(addrs.nexus_url, email, password, challenge.args[2])
        answer = ticket or "t=nothing&p=nothing"
    else:
        answer = login_hash(challenge.args[2], password)
    trid = await ns.send("USR", scheme, "S", answer)
    reply = await ns.recv()
    assert reply.trid == trid
    if reply.verb == "USR":
        if version >= 11:
            assert (await ns.expect("SBS", 0)).args == ("null",)
        profile = await ns.expect("MSG")
        assert profile.args == ("Hotmail", "Hotmail")
        assert b"text/x-msmsgsprofile" in (profile.payload or b"")
    return ns, reply


async def open_switchboard(ns: ScriptedClient, email: str) -> tuple[ScriptedClient, Command]:
    """XFR SB on ``ns``, then USR on the switchboard it names; that SB client and its USR reply."""
    trid = await ns.send("XFR", "SB")
    xfr = await ns.expect("XFR", trid)
    sb = await ScriptedClient.connect(ns_address(xfr))
    trid = await sb.send("USR", email, xfr.args[3])
    return sb, await sb.expect("USR", trid)


async def answer_call(
    inviter_sb: ScriptedClient, invitee_ns: ScriptedClient, email: str, addrs: ServerAddresses
) -> ScriptedClient:
    """CAL from ``inviter_sb``; the invitee gets RNG and answers; its SB client."""
    trid = await inviter_sb.send("CAL", email)
    ringing = await inviter_sb.expect("CAL", trid)
    assert ringing.args[0] == "RINGING"
    rng = await invitee_ns.expect("RNG")
    sessid, address, cki, cookie = rng.args[:4]
    assert (sessid, cki, address) == (ringing.args[1], "CKI", f"{addrs.sb[0]}:{addrs.sb[1]}")
    assert rng.args[4] == "alice@example.com"
    sb = await ScriptedClient.connect(addrs.sb)
    await sb.send("ANS", email, cookie, sessid)
    return sb


ALICE_BURST_MSNP8 = [
    "GTC A",
    "BLP AL",
    "LSG 0 Other%20Contacts 0",
    "LST bob@example.com bob@example.com 11 0",
    "LST carol@example.com carol@example.com 11 0",
]
"""What follows alice's first ``SYN trid 1 2 1`` in the MSNP8/9 form (no TrIDs)."""

CLIENT_ID = "268435492"
"""The client id the scripted clients put in CHG from MSNP8 on."""


async def online(
    addrs: ServerAddresses,
    email: str,
    version: int,
    status: str = "NLN",
    *,
    client_id: str = CLIENT_ID,
    msnobj: str = "",
) -> tuple[ScriptedClient, list[Command]]:
    """Logged in and CHG sent; the client and everything up to the PNG barrier.

    Args:
        client_id: the CHG client id (MSNP8+; the capabilities shown in MSNP12 IRO/JOI).
        msnobj: a URL-encoded MSNObject to put in CHG (MSNP9+), none if empty.
    """
    ns, reply = await login(addrs, email, email.split("@")[0] + "-password", version)
    assert reply.args[0] == "OK", reply.line
    args: tuple[str, ...] = (status, client_id) if version >= 8 else (status,)
    if msnobj:
        args += (msnobj,)
    trid = await ns.send("CHG", *args)
    echo = await ns.expect("CHG", trid)
    assert echo.args == args
    return ns, await ns.sync()
