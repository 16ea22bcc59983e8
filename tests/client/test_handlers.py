"""Handler forms (callable, tuple, session method name, object + method; sync and async),
pseudo events, and the debug flags' output."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing

from msmgr.client import Connection, HandlerTable, Session
from msmgr.codec import Command, login_hash
from msmgr.debug import Debug

from .scripted import ALICE, ALICE_PW, SALT, MemoryServer, Peer, serve, until


class RecordingSession(Session):
    """A session with a method to name as handler."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, ...]] = []

    def on_nln(self, command: Command, tag: str = "-") -> None:
        self.calls.append(("method", command.args[1], tag))


class Watcher:
    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    async def note(self, command: Command, extra: str) -> None:
        await trio.lowlevel.checkpoint()
        self.seen.append((command.verb, extra))


async def presence_script(peer: Peer) -> None:
    await peer.md5_login("MSNP7")
    await peer.send("NLN", None, "AWY", "bob@example.com", "Bob")
    await peer.send("GTC", 0, "13", "N")
    await peer.expect("OUT")


async def test_every_handler_form_is_called_in_order(nursery: trio.Nursery) -> None:
    order: list[tuple[Any, ...]] = []
    watcher = Watcher()

    async def async_handler(command: Command) -> None:
        await trio.lowlevel.checkpoint()
        order.append(("async", command.args[0]))

    def with_extras(command: Command, a: int, b: str) -> None:
        order.append(("tuple", command.verb, a, b))

    address = await serve(nursery, presence_script)
    with trio.fail_after(5):
        session = RecordingSession(ALICE, ALICE_PW, server=address, protocol=7)
        async with session:
            session.add_handler(lambda c: order.append(("sync", c.verb)), "NLN")
            session.add_handler(async_handler, "NLN")
            session.add_handler((with_extras, 1, "two"), "NLN", "GTC")
            session.add_handler("on_nln", "NLN")
            session.add_handler(("on_nln", "tagged"), "NLN")
            session.add_handler((watcher, "note", "x"), "GTC")
            logins: list[Any] = []
            session.add_handler(logins.append, "login")
            await session.login()
            assert logins == [session]
            await until(lambda: watcher.seen)
    assert order == [
        ("sync", "NLN"),
        ("async", "AWY"),
        ("tuple", "NLN", 1, "two"),
        ("tuple", "GTC", 1, "two"),
    ]
    assert session.calls == [
        ("method", "bob@example.com", "-"),
        ("method", "bob@example.com", "tagged"),
    ]
    assert watcher.seen == [("GTC", "x")]


def test_bad_handlers_are_refused_when_added() -> None:
    session = Session(ALICE, ALICE_PW)
    with pytest.raises(ValueError, match="no method 'no_such_method'"):
        session.add_handler("no_such_method", "NLN")
    with pytest.raises(TypeError, match="not a handler"):
        session.add_handler(42, "NLN")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at least one"):
        session.add_handler(print)
    table = HandlerTable()
    table.add(print, "NLN", "FLN")
    table.remove(print, "NLN")
    assert "NLN" not in table
    assert table.get("FLN") == [print]


async def test_connection_handlers_and_close_event(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.send("NLN", None, "NLN", "bob@example.com", "Bob")

    address = await serve(nursery, script)
    got: list[Any] = []
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW) as session:
            conn = Connection(session, *address, name="Test")
            conn.add_handler(got.append, "NLN", "close")
            await conn.connect()
            await conn.wait_closed()
            await until(lambda: len(got) >= 2)
    nln, closed = got
    assert isinstance(nln, Command)
    assert nln.args[0] == "NLN"
    assert closed is conn
    assert not conn.open


async def test_debug_flags_log_to_their_loggers(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    address = await serve(nursery, presence_script)
    caplog.set_level(logging.DEBUG, logger="msmgr.debug")
    host, port = address
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7, debug=511) as session:
            session.add_handler(lambda c: None, "NLN")
            await session.login()
            await until(lambda: "GTC" in session.contact_lists.settings)

    def lines(flag: Debug) -> list[str]:
        name = f"msmgr.debug.{flag.name.lower()}"  # type: ignore[union-attr]
        return [r.getMessage() for r in caplog.records if r.name == name]

    assert (
        lines(Debug.COMMAND_SEND)[0]
        == "Dispatch Server --> VER 1 MSNP7 MSNP6 MSNP5 MSNP4 MSNP3 MSNP2 CVR0"
    )
    assert "Dispatch Server <-- VER 1 MSNP7" in lines(Debug.COMMAND_RECV)
    assert "Notification Server --> OUT" in lines(Debug.COMMAND_SEND)
    assert (
        lines(Debug.PACKET_SEND)[0]
        == "Dispatch Server >>> b'VER 1 MSNP7 MSNP6 MSNP5 MSNP4 MSNP3 MSNP2 CVR0\\r\\n'"
    )
    assert lines(Debug.PACKET_RECV)[0] == "Dispatch Server <<< b'VER 1 MSNP7\\r\\n'"
    assert lines(Debug.OPEN) == [
        f"Dispatch Server connecting to: {host}:{port}",
        "Dispatch Server connected",
    ]
    assert lines(Debug.CLOSE) == [f"Connection to {host}:{port} (Notification Server) closed"]
    assert lines(Debug.HANDLER) == ["Notification Server is calling a NLN handler"]
    # NOTIFICATION: list and presence commands (msmgr.debug.NOTIFICATION_VERBS), not others
    assert lines(Debug.NOTIFICATION) == ["NLN AWY bob@example.com Bob", "GTC 0 13 N"]


async def test_no_debug_output_without_flags(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    address = await serve(nursery, presence_script)
    caplog.set_level(logging.DEBUG, logger="msmgr.debug")
    with trio.fail_after(5):
        async with Session(ALICE, ALICE_PW, server=address, protocol=7) as session:
            await session.login()
    assert [r for r in caplog.records if r.name.startswith("msmgr.debug")] == []


class ReplyFirstStream(trio.abc.Stream):
    """A stream whose ``send_all`` returns only once the reply was logged (or 1 s passed).

    This is the worst legal scheduling for the client: the reply is read and logged
    while the request's write has not returned yet.
    """

    def __init__(self, inner: trio.abc.Stream, replied: list[trio.Event]) -> None:
        self.inner = inner
        self.replied = replied

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.replied[0] = trio.Event()
        await self.inner.send_all(data)
        with trio.move_on_after(1):
            await self.replied[0].wait()

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


class EventOnRecord(logging.Handler):
    def __init__(self, replied: list[trio.Event]) -> None:
        super().__init__(logging.DEBUG)
        self.replied = replied
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if record.name == "msmgr.debug.command_recv":
            self.replied[0].set()


async def test_sent_commands_are_logged_before_their_replies(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = MemoryServer(nursery, presence_script)
    replied = [trio.Event()]

    async def open_stream(host: str, port: int) -> trio.abc.Stream:
        return ReplyFirstStream(await server.open_stream(host, port), replied)

    handler = EventOnRecord(replied)
    debug_logger = logging.getLogger("msmgr.debug")
    old_level = debug_logger.level
    debug_logger.setLevel(logging.DEBUG)
    debug_logger.addHandler(handler)
    try:
        flags = Debug.COMMAND_SEND | Debug.COMMAND_RECV
        async with Session(
            ALICE, ALICE_PW, open_stream=open_stream, protocol=7, debug=flags
        ) as session:
            await session.login()
    finally:
        debug_logger.removeHandler(handler)
        debug_logger.setLevel(old_level)
    dialogue = [m for m in handler.messages if " VER " in m or " USR " in m]
    assert dialogue == [
        "Dispatch Server --> VER 1 MSNP7 MSNP6 MSNP5 MSNP4 MSNP3 MSNP2 CVR0",
        "Dispatch Server <-- VER 1 MSNP7",
        f"Dispatch Server --> USR 3 MD5 I {ALICE}",
        "Dispatch Server <-- USR 3 MD5 S 1013928519.693957190",
        f"Dispatch Server --> USR 4 MD5 S {login_hash(SALT, ALICE_PW)}",
        f"Dispatch Server <-- USR 4 OK {ALICE} Alice%20A.",
    ]
