"""msproxy/proxy/session: the trio driver of one proxied connection.

One ``Session`` per accepted client. It feeds what it reads into its ``Relay`` and
executes the commands that come back, in order, *before* reading again: a slow reader
on one side therefore stops the proxy reading from the other (backpressure, bounded
buffers). Each side has its own pump task in the session's nursery; the upstream pump
starts once the client's first command has chosen the upstream (``OpenUpstream``).
A client that sends no command within ``first_command_timeout`` of its accept is closed
(``close`` record ``by: "proxy"``). A chunk's ``WriteRecords`` comes after the ``SendData``
that forwards it (nothing is built or queued before the forward); ``_execute`` still
queues it when that forward fails or is cancelled, so every command read is recorded.
Client chunks are even forwarded before the relay frames them once it allows it
(``Relay.raw_c2s``: relaying, nothing held): client bytes are never rewritten.

Failures stay inside the session: a broken or refused connection becomes a
``ConnectionClosed``/``UpstreamOpened(error=...)`` event, which the relay records and
turns into closing commands. When the session is cancelled (the proxy stops), the relay
still gets a ``Shutdown`` so the capture has the close record.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from msmgr.codec import Command
from msmgr.codec.address import format_address, parse_address

from .commands import (
    CloseSide,
    Log,
    OpenUpstream,
    ProxyCommand,
    RequestRedirect,
    SendData,
    WriteRecords,
)
from .events import (
    ConnectionClosed,
    RedirectReady,
    Shutdown,
    Side,
    UpstreamOpened,
)
from .redirects import Redirect
from .relay import Relay, RelayState

if TYPE_CHECKING:
    from .server import Proxy

logger = logging.getLogger(__name__)

RECEIVE_SIZE = 256 * 1024
"""Bytes asked of the socket per read. Under load a read takes what the kernel holds, so
bigger reads mean fewer passes through the relay's Python code per byte (measured with
scripts/bench/relay.py: 0.9 us of CPU per command against 1.4 with 64 KiB); an idle
connection holds no buffer, and a small read costs no more. 1 MiB was measured too
(three alternating A/B runs, medians): 9-24% less CPU per command client to server and
5-10% server to client, with a p99 latency 0.65-2.3x; not taken, because a connection
then holds up to four times the memory while its peer does not read, and a busy one
holds the event loop (every other connection) about four times as long per read."""
_STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError)


class Session:
    """One client connection through the proxy, and its upstream connection."""

    def __init__(
        self,
        proxy: Proxy,
        conn: int,
        client_stream: trio.abc.Stream,
        *,
        client_addr: tuple[str, int] | None,
        local_addr: tuple[str, int] | None,
        ns_target: tuple[str, int] | None = None,
    ) -> None:
        self.proxy = proxy
        self.ns_target = ns_target
        self.conn = conn
        self.client_addr = client_addr
        self.local_addr = local_addr
        client = format_address(*client_addr) if client_addr else "unknown"
        config = proxy.config
        self.relay = Relay(
            conn,
            client=client,
            redactor=proxy.redactor,
            debug=proxy.debug_now(),
            limits=config.limits,
            opened=proxy.now(),
            record=proxy.sink.writer is not None,
            fast=config.accelerate,
        )
        self.streams: dict[Side, trio.abc.Stream] = {Side.CLIENT: client_stream}
        self._nursery: trio.Nursery | None = None

    async def run(self) -> None:
        """Relay until both sides are closed (or the session is cancelled)."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._pump, Side.CLIENT)
        finally:
            if not self.relay.closed:
                self._execute_now(self.relay.handle(Shutdown(t=self.proxy.now())))
            # Shielded: under cancellation the first close's checkpoint would raise and
            # leave the other stream open.
            with trio.CancelScope(shield=True):
                for stream in self.streams.values():
                    await trio.aclose_forcefully(stream)

    # -- pumps --------------------------------------------------------------------

    async def _pump(self, side: Side) -> None:
        stream = self.streams[side]
        relay = self.relay
        proxy = self.proxy
        sink = proxy.sink
        debug = bool(proxy.config.debug)
        if side is Side.CLIENT and not await self._await_first_command(stream):
            return
        while relay.state is not RelayState.CLOSED:
            try:
                data = await stream.receive_some(RECEIVE_SIZE)
            except _STREAM_ERRORS as exc:
                # (after the relay closed, it ignores this event)
                event = ConnectionClosed(side=side, t=proxy.now(), error=_why(exc, "receive"))
                await self._execute(relay.handle(event))
                return
            if not data:
                await self._execute(relay.handle(ConnectionClosed(side=side, t=proxy.now())))
                return
            if debug:  # the console may have been turned down (or up) since
                relay.debug = proxy.debug_now()
            if relay.raw_c2s and side is Side.CLIENT:
                await self._forward_raw(data, proxy.now())
            else:
                await self._execute(relay.data_received(side, data, proxy.now()))
            if sink.full:
                await sink.wait_room()

    async def _forward_raw(self, data: bytes | bytearray, t: float) -> None:
        """Forward a client chunk before the relay frames it (``Relay.raw_c2s``), then let
        the relay frame and record it; it is recorded even when that forward fails or is
        cancelled."""
        relay = self.relay
        try:
            await self.streams[Side.UPSTREAM].send_all(data)
        except _STREAM_ERRORS as exc:
            self._execute_now(relay.data_received(Side.CLIENT, data, t, forwarded=True))
            if not relay.closed:
                failed = ConnectionClosed(
                    side=Side.UPSTREAM, t=self.proxy.now(), error=_why(exc, "send")
                )
                await self._execute(relay.handle(failed))
            return
        except BaseException:
            self._execute_now(relay.data_received(Side.CLIENT, data, t, forwarded=True))
            raise
        await self._execute(relay.data_received(Side.CLIENT, data, t, forwarded=True))

    async def _await_first_command(self, stream: trio.abc.Stream) -> bool:
        """Read the client until its first command routes the connection.

        The relay must leave WAITING_FIRST within ``first_command_timeout`` of the
        accept, else it records a close ``by: "proxy"`` and the session ends. Returns
        whether the client pump goes on (False: the connection is over).
        """
        relay = self.relay
        proxy = self.proxy
        timeout = proxy.config.first_command_timeout
        commands: list[ProxyCommand] = []
        with trio.move_on_after(timeout):
            while relay.state is RelayState.WAITING_FIRST:
                try:
                    data = await stream.receive_some(RECEIVE_SIZE)
                except _STREAM_ERRORS as exc:
                    error = _why(exc, "receive")
                    commands = relay.handle(
                        ConnectionClosed(side=Side.CLIENT, t=proxy.now(), error=error)
                    )
                    break
                if not data:
                    commands = relay.handle(ConnectionClosed(side=Side.CLIENT, t=proxy.now()))
                    break
                commands = relay.data_received(Side.CLIENT, data, proxy.now())
                if relay.state is RelayState.WAITING_FIRST:
                    await self._execute(commands)  # logs only: nothing here waits
                    commands = []
        if relay.state is RelayState.WAITING_FIRST:
            reason = f"no command within {timeout:g} s"
            logger.info("#%d closed: %s", self.conn, reason)
            commands = relay.handle(Shutdown(t=proxy.now(), reason=reason))
        # Outside the timeout: opening the upstream has a timeout of its own.
        await self._execute(commands)
        return not relay.closed

    # -- executing relay commands ------------------------------------------------

    async def _execute(self, commands: list[ProxyCommand]) -> None:
        """Execute ``commands`` in order.

        Whatever happens on the way (a failed send, cancellation), the ``WriteRecords`` and
        ``Log`` commands after it are still executed: every command read gets recorded.
        """
        for index, command in enumerate(commands):
            try:
                failed = await self._execute_one(command)
            except BaseException:
                self._execute_now(commands[index + 1 :])
                raise
            if failed is not None:
                self._execute_now(commands[index + 1 :])
                if not self.relay.closed:
                    await self._execute(self.relay.handle(failed))
                return

    async def _execute_one(self, command: ProxyCommand) -> ConnectionClosed | None:
        """Execute one command; a send that failed comes back as the event to handle."""
        match command:
            case SendData(side=side, data=data):
                stream = self.streams.get(side)
                if stream is None:  # pragma: no cover - the relay never sends early
                    raise RuntimeError(f"SendData to {side.value} before it is open")
                try:
                    await stream.send_all(data)
                except _STREAM_ERRORS as exc:
                    return ConnectionClosed(side=side, t=self.proxy.now(), error=_why(exc, "send"))
            case WriteRecords(records=records):
                self.proxy.sink.put(records)
            case Log(flag=flag, level=level, msg=msg, args=args):
                self.proxy.logger(flag).log(level, msg, *args)
            case CloseSide(side=side, half_close=half):
                await self._close(side, half)
            case OpenUpstream(first=first):
                await self._execute(await self._open_upstream(first))
            case RequestRedirect():
                reply = await self._redirect(command)
                await self._execute(self.relay.handle(reply))
        return None

    def _execute_now(self, commands: list[ProxyCommand]) -> None:
        """Execute what needs no waiting (records, logs): used while being cancelled."""
        for command in commands:
            if isinstance(command, WriteRecords):
                self.proxy.sink.put(command.records)
            elif isinstance(command, Log):
                self.proxy.logger(command.flag).log(command.level, command.msg, *command.args)

    async def _close(self, side: Side, half: bool) -> None:
        stream = self.streams.get(side)
        if not half:
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel()
            return
        if stream is None:
            return
        if isinstance(stream, trio.abc.HalfCloseableStream):
            try:
                await stream.send_eof()
            except (*_STREAM_ERRORS, trio.BusyResourceError, OSError):
                pass
        else:
            await trio.aclose_forcefully(stream)

    async def _open_upstream(self, first: Command) -> list[ProxyCommand]:
        proxy = self.proxy
        config = proxy.config
        client_host = self.client_addr[0] if self.client_addr else ""
        if self.ns_target is not None:
            route = proxy.redirects.claim_ns(client_host, self.ns_target, proxy.now_monotonic())
        else:
            route = proxy.redirects.route(client_host, first, proxy.now_monotonic())
        if self.ns_target is not None and route is None:
            target, role, parent, via = self.ns_target, "NS", None, None
        elif route is None:
            target, role, parent, via = config.upstream, "DS", None, None
        else:
            target, role, parent, via = route.target, route.kind, route.parent, route.via
        upstream = format_address(*target)
        try:
            with trio.fail_after(config.connect_timeout):
                stream = await config.connect(*target)
        except (OSError, trio.TooSlowError) as exc:
            error = "timed out" if isinstance(exc, trio.TooSlowError) else str(exc)
            logger.warning("#%d cannot connect to %s %s: %s", self.conn, role, upstream, error)
            return self.relay.handle(
                UpstreamOpened(
                    upstream=upstream,
                    role=role,
                    t=proxy.now(),
                    parent=parent,
                    via=via,
                    error=error or type(exc).__name__,
                )
            )
        self.streams[Side.UPSTREAM] = stream
        logger.info("#%d %s connected to %s %s", self.conn, upstream, role, upstream)
        assert self._nursery is not None
        self._nursery.start_soon(self._pump, Side.UPSTREAM)
        return self.relay.handle(
            UpstreamOpened(upstream=upstream, role=role, t=proxy.now(), parent=parent, via=via)
        )

    async def _redirect(self, request: RequestRedirect) -> RedirectReady:
        proxy = self.proxy
        try:
            target = parse_address(request.target)
        except ValueError as exc:
            logger.warning("#%d unusable redirect address: %s", self.conn, exc)
            return RedirectReady(address=None, t=proxy.now())
        if request.kind == "SB" and request.cookie is None:
            return RedirectReady(address=None, t=proxy.now())
        port = proxy.port
        if request.kind == "NS":
            ns_port = await proxy.ns_port(target)
            if ns_port is None:
                return RedirectReady(address=None, t=proxy.now())
            port = ns_port
        client_host = self.client_addr[0] if self.client_addr else ""
        proxy.redirects.add(
            Redirect(
                kind=request.kind,
                via=request.via,
                target=target,
                parent=self.conn,
                client_host=client_host,
                expires=proxy.now_monotonic() + proxy.redirects.ttl,
                cookie=request.cookie,
                sessid=request.sessid,
            ),
            proxy.now_monotonic(),
        )
        return RedirectReady(address=proxy.advertised(self.local_addr, port), t=proxy.now())


def _why(exc: BaseException, what: str) -> str:
    return f"{what} failed: {exc}" if str(exc) else f"{what} failed: {type(exc).__name__}"
