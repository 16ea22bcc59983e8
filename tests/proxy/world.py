"""A scripted MSNP world for proxy tests: fake DS, NS and SB servers, and a client script.

The servers speak just enough of every form MSNP2-MSNP18 to drive DS -> ``XFR NS`` -> NS
-> ``XFR SB`` -> SB and NS ``RNG`` -> SB ``ANS``. Every stream is wrapped in a ``Tap`` that
keeps the bytes sent and received, so tests can compare both ends of the proxy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import partial

import trio

from msmgr.codec import Command
from msmgr.stream import CommandStream, ConnectionClosed, Role


class Tap(trio.abc.HalfCloseableStream):
    """A stream that remembers every byte written to and read from it."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        sock = getattr(inner, "socket", None)
        self.local = ""
        if sock is not None:
            host, port = sock.getsockname()[:2]
            self.local = f"{host}:{port}"
        self.sent = bytearray()
        self.received = bytearray()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)
        self.sent += data

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        self.received += data
        return data

    async def send_eof(self) -> None:
        if isinstance(self.inner, trio.abc.HalfCloseableStream):
            await self.inner.send_eof()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def receive(cs: CommandStream) -> Command | None:
    """The next command, or None once the peer closed."""
    try:
        return await cs.receive()
    except ConnectionClosed:
        return None


def xfr_ns(version: int, trid: int, addr: str, current: str) -> Command:
    if version <= 2:
        return Command("XFR", trid, ("NS", addr))
    if version <= 6:
        return Command("XFR", trid, ("NS", addr, "0"))
    if version <= 12:
        return Command("XFR", trid, ("NS", addr, "0", current))
    return Command("XFR", trid, ("NS", addr, "U", "D"))


def sb_tail(version: int, domain: str) -> tuple[str, ...]:
    if version >= 14:
        return ("U", domain, "1")
    if version >= 13:
        return ("U", domain)
    return ()


@dataclass
class World:
    """Fake servers' addresses and everything they saw."""

    ds: tuple[str, int] = ("", 0)
    ns: tuple[str, int] = ("", 0)
    sb: tuple[str, int] = ("", 0)
    taps: list[Tap] = field(default_factory=list)
    sb_sessions: dict[str, str] = field(default_factory=dict)  # cookie -> handle
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def addr(self, which: tuple[str, int]) -> str:
        return f"{which[0]}:{which[1]}"

    async def start(self, nursery: trio.Nursery) -> None:
        for name, handler in (("ds", self.serve_ds), ("ns", self.serve_ns), ("sb", self.serve_sb)):
            listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
            setattr(self, name, listeners[0].socket.getsockname()[:2])

    def _tap(self, stream: trio.SocketStream) -> CommandStream:
        tap = Tap(stream)
        self.taps.append(tap)
        return CommandStream(tap, Role.SERVER)

    async def serve_ds(self, stream: trio.SocketStream) -> None:
        cs = self._tap(stream)
        version = 2
        async with cs.stream:
            while (cmd := await receive(cs)) is not None:
                if cmd.verb == "VER":
                    version = int(cmd.args[0][4:])
                    await cs.send(Command("VER", cmd.trid, (cmd.args[0],)))
                elif cmd.verb == "USR":
                    assert cmd.trid is not None
                    await cs.send(xfr_ns(version, cmd.trid, self.addr(self.ns), self.addr(self.ds)))

    async def serve_ns(self, stream: trio.SocketStream) -> None:
        cs = self._tap(stream)
        version, handle = 2, "?"
        async with cs.stream:
            while (cmd := await receive(cs)) is not None:
                trid = cmd.trid
                if cmd.verb == "VER":
                    version = int(cmd.args[0][4:])
                    await cs.send(Command("VER", trid, (cmd.args[0],)))
                elif cmd.verb == "USR" and cmd.args[1] == "I":
                    handle = cmd.args[2]
                    await cs.send(Command("USR", trid, (cmd.args[0], "S", "1013928519.69")))
                elif cmd.verb == "USR":
                    await cs.send(Command("USR", trid, ("OK", handle, handle)))
                    profile = b"Content-Type: text/x-msmsgsprofile\r\nMSPAuth: sekrit$$\r\n\r\n"
                    await cs.send(Command("MSG", None, ("Hotmail", "Hotmail"), profile))
                elif cmd.verb == "XFR":
                    cookie = f"{next(self._ids)}.{handle}"
                    self.sb_sessions[cookie] = handle
                    tail = sb_tail(version, "messenger.msn.com")
                    args = ("SB", self.addr(self.sb), "CKI", cookie, *tail)
                    await cs.send(Command("XFR", trid, args))
                elif cmd.verb == "CHG":
                    cookie = f"{next(self._ids)}.ring.{handle}"
                    self.sb_sessions[cookie] = handle
                    tail = sb_tail(version, "messenger.hotmail.com")
                    ring = ("4242", self.addr(self.sb), "CKI", cookie, "bob@x.com", "Bob", *tail)
                    await cs.send(Command("CHG", trid, cmd.args), Command("RNG", None, ring))
                elif cmd.verb == "OUT":
                    await cs.send(Command("OUT"))
                    return

    async def serve_sb(self, stream: trio.SocketStream) -> None:
        cs = self._tap(stream)
        handle, cookie = "?", "?"
        async with cs.stream:
            while (cmd := await receive(cs)) is not None:
                trid = cmd.trid
                if cmd.verb == "USR":
                    handle, cookie = cmd.args[0], cmd.args[1]
                    assert self.sb_sessions.get(cookie) == handle, (cookie, handle)
                    await cs.send(Command("USR", trid, ("OK", handle, handle)))
                elif cmd.verb == "ANS":
                    handle, cookie = cmd.args[0], cmd.args[1]
                    assert self.sb_sessions.get(cookie) == handle, (cookie, handle)
                    await cs.send(
                        Command("IRO", trid, ("1", "1", "bob@x.com", "Bob")),
                        Command("ANS", trid, ("OK",)),
                    )
                elif cmd.verb == "MSG":
                    assert cmd.payload is not None
                    echo = cmd.payload + f"|{cookie}".encode()
                    await cs.send(
                        Command("ACK", trid), Command("MSG", None, ("bob@x.com", "Bob"), echo)
                    )
                elif cmd.verb == "OUT":
                    return


@dataclass
class ClientRun:
    """What one scripted client saw: its taps, and the addresses it was told."""

    taps: list[Tap] = field(default_factory=list)
    told: list[str] = field(default_factory=list)


async def client_script(
    proxy: tuple[str, int], version: int, handle: str, *, run: ClientRun | None = None
) -> ClientRun:
    """Log in through the proxy, open an SB, answer a RNG; check each SB is our own."""
    run = run or ClientRun()
    method = "MD5" if version < 8 else ("TWN" if version < 15 else "SSO")

    async def connect(addr: str) -> CommandStream:
        host, port = addr.rsplit(":", 1)
        tap = Tap(await trio.open_tcp_stream(host, int(port)))
        run.taps.append(tap)
        return CommandStream(tap, Role.CLIENT)

    proto = f"MSNP{version}"
    ds = await connect(f"{proxy[0]}:{proxy[1]}")
    await ds.send(Command("VER", 1, (proto, "CVR0")))
    assert (await ds.receive()).args == (proto,)
    await ds.send(Command("USR", 2, (method, "I", handle)))
    xfr = await ds.receive()
    assert xfr.verb == "XFR"
    run.told.append(xfr.args[1])
    await ds.aclose()

    ns = await connect(xfr.args[1])
    await ns.send(Command("VER", 3, (proto, "CVR0")))
    assert (await ns.receive()).verb == "VER"
    await ns.send(Command("USR", 4, (method, "I", handle)))
    assert (await ns.receive()).args[1] == "S"
    await ns.send(Command("USR", 5, (method, "S", f"secret-of-{handle}")))
    assert (await ns.receive()).args[0] == "OK"
    assert (await ns.receive()).verb == "MSG"

    await ns.send(Command("XFR", 6, ("SB",)))
    xfr = await ns.receive()
    run.told.append(xfr.args[1])
    cookie = xfr.args[3]
    sb = await connect(xfr.args[1])
    await sb.send(Command("USR", 1, (handle, cookie)))
    assert (await sb.receive()).args[0] == "OK"
    text = f"hello from {handle}".encode()
    await sb.send(Command("MSG", 2, ("N",), text))
    assert (await sb.receive()).verb == "ACK"
    echo = await sb.receive()
    assert echo.payload == text + f"|{cookie}".encode()
    await sb.send(Command("OUT"))

    await ns.send(Command("CHG", 7, ("NLN",)))
    assert (await ns.receive()).verb == "CHG"
    rng = await ns.receive()
    assert rng.verb == "RNG"
    run.told.append(rng.args[1])
    sb2 = await connect(rng.args[1])
    await sb2.send(Command("ANS", 1, (handle, rng.args[3], rng.args[0])))
    assert (await sb2.receive()).verb == "IRO"
    assert (await sb2.receive()).args == ("OK",)
    await sb2.send(Command("MSG", 2, ("N",), text))
    assert (await sb2.receive()).verb == "ACK"
    assert (await sb2.receive()).payload == text + f"|{rng.args[3]}".encode()
    await sb2.send(Command("OUT"))
    await ns.send(Command("OUT"))
    assert (await ns.receive()).verb == "OUT"
    for cs in (sb, sb2, ns):
        await cs.aclose()
    return run
