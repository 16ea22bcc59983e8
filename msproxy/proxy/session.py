"""msproxy/proxy/session: the trio driver of one proxied connection.

One ``Session`` per accepted client feeds what it reads into its ``Relay`` and executes
the commands that come back, in order, before reading again: a slow reader on one side
stops the proxy reading the other (backpressure). One read loop per side, both in the
session's nursery; the upstream's starts once the relay asks for it (``OpenUpstream``).
Where to connect and what to do with a redirect are the ``Router``'s decisions.

Every command read is recorded: records and log lines are executed even after a send
that failed or was cancelled. A broken connection becomes a ``ConnectionClosed`` event; a
client that sends no first command within ``first_command_timeout`` (a deadline on its
reads until then), a connection where neither side sent anything for ``idle_timeout``
(a deadline on both reads) and a cancelled session get a ``Shutdown``, so the capture has
the close and its reason.
"""

from __future__ import annotations

import logging
import math

import trio

from msmgr.codec import Command, Direction
from msmgr.codec.address import format_address
from msproxy.faults import FaultInjector

from .commands import (
    CloseSide,
    ForwardUnframed,
    Log,
    LogRun,
    OpenUpstream,
    ProxyCommand,
    RequestRedirect,
    SendData,
    WriteRecords,
)
from .console import show_log
from .events import (
    ConnectionClosed,
    DataReceived,
    Event,
    RedirectReady,
    Shutdown,
    Side,
    UpstreamOpened,
)
from .faulty import FaultClose, FaultyStream
from .host import Host
from .loops import Ends
from .relay import Relay
from .routing import Address
from .sockio import receive_some, send_all

logger = logging.getLogger(__name__)

RECEIVE_SIZE = 256 * 1024
"""Bytes asked of the socket per read: under load a read takes what the kernel holds, so
bigger reads mean fewer passes through the relay per byte; an idle connection holds none."""
_STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError)


class Session:
    """One client connection through the proxy, and its upstream connection."""

    def __init__(
        self,
        proxy: Host,
        conn: int,
        client_stream: trio.abc.Stream,
        *,
        client_addr: Address | None,
        local_addr: Address | None,
        ns_target: Address | None = None,
    ) -> None:
        self.proxy = proxy
        self.conn = conn
        self.client_addr = client_addr
        self.client_host = client_addr[0] if client_addr else ""
        self.local_addr = local_addr
        self.ns_target = ns_target
        self.relay = Relay(
            conn,
            client=format_address(*client_addr) if client_addr else "unknown",
            redactor=proxy.redactor,
            debug=proxy.debug_now(),
            limits=proxy.config.limits,
            opened=proxy.now(),
            record=proxy.sink.writer is not None,
            fast=proxy.config.accelerate,
            accelerate=proxy.config.codec_accelerate,
            console_runs=proxy.console is not None,
        )
        self.streams: dict[Side, trio.abc.Stream] = {Side.CLIENT: client_stream}
        self._unframed = False  # ForwardUnframed(CLIENT) came: forward, then hand in
        self._deadline = math.inf  # for the client's first command (inf once routed)
        self._active = 0.0  # when either side last sent something (with an idle timeout)
        self._nursery: trio.Nursery | None = None
        self._upstream_ends: Ends | None = None  # both ends of our upstream socket

    async def run(self) -> None:
        """Relay until both sides are closed (or the session is cancelled)."""
        self._active = trio.current_time()
        self._deadline = self._active + self.proxy.config.first_command_timeout
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._pump, Side.CLIENT)
        finally:
            self.proxy.loops.closed(self._upstream_ends)
            if not self.relay.closed:
                self._execute_now(self.relay.handle(Shutdown(t=self.proxy.now())))
            # Shielded: under cancellation the first close's checkpoint would raise and
            # leave the other stream open.
            with trio.CancelScope(shield=True):
                for stream in self.streams.values():
                    await trio.aclose_forcefully(stream)

    async def _pump(self, side: Side) -> None:
        """The read loop of ``side``: each chunk in, its commands executed, until closed."""
        stream, relay, proxy = self.streams[side], self.relay, self.proxy
        sink, debug = proxy.sink, bool(proxy.config.debug)
        idle = proxy.config.idle_timeout
        last = 0  # bytes of the read before
        while not relay.closed:
            try:
                deadline = self._deadline if side is Side.CLIENT else math.inf
                if idle is not None:
                    deadline = min(deadline, self._active + idle)
                if deadline == math.inf:
                    data = await receive_some(stream, RECEIVE_SIZE, last=last)
                else:
                    with trio.move_on_at(deadline) as waiting:
                        data = await receive_some(stream, RECEIVE_SIZE, last=last)
                    if waiting.cancelled_caught:
                        if await self._timed_out(side):
                            return
                        continue  # the other side was heard from meanwhile
            except _STREAM_ERRORS as exc:
                error = _why(exc, "receive")
                await self._feed(ConnectionClosed(side=side, t=proxy.now(), error=error))
                return
            if not data:
                await self._feed(ConnectionClosed(side=side, t=proxy.now()))
                return
            last = len(data)
            if idle is not None:
                self._active = trio.current_time()
            if debug:  # the console may have been turned down (or up) since
                relay.debug = proxy.debug_now()
            event = DataReceived(side=side, data=data, t=proxy.now())
            if self._unframed and side is Side.CLIENT and not relay.closed:
                await self._forward_unframed(event)
            else:
                await self._feed(event)
            if sink.full:
                await sink.wait_room()

    async def _timed_out(self, side: Side) -> bool:
        """A read deadline passed: close the connection (True) when the client's first
        command is overdue or neither side sent anything for ``idle_timeout``."""
        config, now = self.proxy.config, trio.current_time()
        if side is Side.CLIENT and now >= self._deadline:
            reason = f"no command within {config.first_command_timeout:g} s"
        elif config.idle_timeout is not None and now >= self._active + config.idle_timeout:
            reason = f"idle: nothing sent either way for {config.idle_timeout:g} s"
        else:
            return False
        if not self.relay.closed:
            logger.info("#%d closed: %s", self.conn, reason)
            await self._feed(Shutdown(t=self.proxy.now(), reason=reason))
        return True

    async def _forward_unframed(self, event: DataReceived) -> None:
        """Send a client chunk on, then hand it to the relay (which asked for this); it is
        recorded even when that send fails or is cancelled."""
        try:
            await send_all(self.streams[Side.UPSTREAM], event.data)
        except _STREAM_ERRORS as exc:
            self._execute_now(self.relay.handle(event))
            error = _why(exc, "send")
            await self._feed(ConnectionClosed(side=Side.UPSTREAM, t=self.proxy.now(), error=error))
            return
        except FaultClose as fault:
            self._execute_now(self.relay.handle(event))
            await self._feed(Shutdown(t=self.proxy.now(), reason=str(fault)))
            return
        except BaseException:
            self._execute_now(self.relay.handle(event))
            raise
        await self._feed(event)

    async def _feed(self, event: Event) -> None:
        await self._execute(self.relay.handle(event))

    async def _execute(self, commands: list[ProxyCommand]) -> None:
        """Execute ``commands`` in order; after a failed or cancelled one, the records and
        logs that follow are still executed (every command read gets recorded)."""
        sink = self.proxy.sink
        for index, command in enumerate(commands):
            if type(command) is WriteRecords:  # most of them, and nothing to wait for
                sink.put(command.records)
                continue
            try:
                failed = await self._execute_one(command)
            except BaseException:
                self._execute_now(commands[index + 1 :])
                raise
            if failed is not None:
                self._execute_now(commands[index + 1 :])
                await self._feed(failed)
                return

    async def _execute_one(self, command: ProxyCommand) -> ConnectionClosed | Shutdown | None:
        """Execute one command; a send that failed (or that a fault rule ended) comes back
        as the event to feed."""
        match command:
            case SendData(side=side, data=data):
                try:
                    await send_all(self.streams[side], data)
                except _STREAM_ERRORS as exc:
                    return ConnectionClosed(side=side, t=self.proxy.now(), error=_why(exc, "send"))
                except FaultClose as fault:
                    return Shutdown(t=self.proxy.now(), reason=str(fault))
            case WriteRecords() | Log() | LogRun():
                self._execute_now([command])
            case ForwardUnframed():
                self._unframed = True
            case CloseSide(side=side, half_close=half):
                await self._close(side, half)
            case OpenUpstream(first=first):
                self._deadline = math.inf  # routed: no deadline any more
                looped = self.proxy.loops.check(self.conn, self.streams[Side.CLIENT])
                if looped is not None:  # our own upstream connection, come back
                    await self._feed(Shutdown(t=self.proxy.now(), reason=looped))
                else:
                    await self._feed(await self._open_upstream(first))
            case RequestRedirect():
                await self._feed(await self._redirect(command))
        return None

    def _execute_now(self, commands: list[ProxyCommand]) -> None:
        """Execute what needs no waiting (records, logs): used while being cancelled."""
        for command in commands:
            if isinstance(command, WriteRecords):
                self.proxy.sink.put(command.records)
            elif isinstance(command, Log | LogRun):
                console = self.proxy.console
                if console is not None:  # shown off the relay's path
                    console.offer(command)
                elif isinstance(command, Log):
                    show_log(command, self.proxy.config.console_filter)

    async def _close(self, side: Side, half: bool) -> None:
        if not half:  # both sides: the session is over
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel()
            return
        stream = self.streams.get(side)
        if isinstance(stream, trio.abc.HalfCloseableStream):
            try:
                await stream.send_eof()
            except (*_STREAM_ERRORS, trio.BusyResourceError, OSError):
                pass
        elif stream is not None:
            await trio.aclose_forcefully(stream)

    async def _open_upstream(self, first: Command) -> UpstreamOpened:
        proxy, config = self.proxy, self.proxy.config
        now = trio.current_time()
        route = proxy.router.route(
            first, client_host=self.client_host, ns_target=self.ns_target, now=now
        )
        upstream = format_address(*route.target)
        if route.refused is not None:
            logger.warning(
                "#%d %s: sent to the %s, as an unknown cookie", self.conn, route.refused, route.role
            )
        error: str | None = None
        try:
            with trio.fail_after(config.connect_timeout):
                stream = await config.connect(*route.target)
        except (OSError, trio.TooSlowError) as exc:
            # (said once, by the relay's console line: UpstreamOpened carries the error)
            error = (
                f"timed out after {config.connect_timeout:g} s"
                if isinstance(exc, trio.TooSlowError)
                else str(exc)
            )
            error = error or type(exc).__name__
        else:
            self.streams[Side.UPSTREAM] = stream
            self._upstream_ends = proxy.loops.opened(self.conn, upstream, stream)
            if config.faults:
                self._inject_faults(route.role)
            logger.info("#%d connected to %s %s", self.conn, route.role, upstream)
            assert self._nursery is not None
            self._nursery.start_soon(self._pump, Side.UPSTREAM)
        return UpstreamOpened(
            upstream=upstream,
            role=route.role,
            t=proxy.now(),
            parent=route.parent,
            via=route.via,
            error=error,
        )

    def _inject_faults(self, role: str) -> None:
        """From now on, send both ways through the fault rules (``faulty``)."""
        proxy, config = self.proxy, self.proxy.config
        injector = FaultInjector(
            config.faults,
            conn=self.conn,
            role=role,
            limits=config.limits,
            accelerate=config.codec_accelerate,
        )
        for side, direction in ((Side.UPSTREAM, Direction.C2S), (Side.CLIENT, Direction.S2C)):
            self.streams[side] = FaultyStream(
                self.streams[side], injector, direction, sink=proxy.sink, clock=proxy.now
            )

    async def _redirect(self, request: RequestRedirect) -> RedirectReady:
        proxy, router = self.proxy, self.proxy.router
        plan = router.plan(request)
        if plan.listen and plan.target is not None:
            plan = router.listening(plan.target, await proxy.open_ns_listener(plan.target))
        if plan.refused is not None:  # (said by the relay's console line and error record)
            return RedirectReady(address=None, t=proxy.now(), why=plan.refused)
        address = router.accept(
            request,
            plan,
            parent=self.conn,
            client_host=self.client_host,
            local=self.local_addr,
            now=trio.current_time(),
        )
        return RedirectReady(address=address, t=proxy.now())


def _why(exc: BaseException, what: str) -> str:
    return f"{what} failed: {exc}" if str(exc) else f"{what} failed: {type(exc).__name__}"
