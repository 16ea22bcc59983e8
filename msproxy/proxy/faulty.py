"""msproxy/proxy/faulty: the trio side of fault injection (``msproxy.faults``).

A session with fault rules wraps the two streams it sends on in ``FaultyStream``s
sharing one ``FaultInjector``, once its upstream is open (its role known): what the
relay sends through one goes through the injector, whose steps are carried out here
(``Wait`` is a sleep, so later sends of that direction wait behind it); reads pass
straight through. A ``Close`` step raises ``FaultClose`` from ``send_all``, which the
session turns into a ``Shutdown`` of the connection. Without rules nothing is wrapped:
the proxy's ordinary path does not change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from msmgr.codec import Direction
from msproxy.faults import Applied, Close, FaultInjector, Step, Wait, Write

from .sink import CaptureSink

logger = logging.getLogger(__name__)


class FaultClose(Exception):
    """Raised by ``FaultyStream.send_all`` when a rule closes the connection
    (``reset``, ``cut``): the session shuts it down, saying why."""


class FaultyStream(trio.abc.HalfCloseableStream):
    """A stream whose sends in ``direction`` go through ``injector`` first."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        injector: FaultInjector,
        direction: Direction,
        *,
        sink: CaptureSink,
        clock: Callable[[], float],
    ) -> None:
        self.stream = stream
        self.injector = injector
        self.direction = direction
        self._sink = sink
        self._clock = clock

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._run(self.injector.forward(self.direction, bytes(data), self._clock()))

    async def send_eof(self) -> None:
        try:
            await self._run(self.injector.finish(self.direction, self._clock()))
        except FaultClose:  # a cut in the last bytes: the connection is ending anyway
            await trio.aclose_forcefully(self.stream)
            return
        if isinstance(self.stream, trio.abc.HalfCloseableStream):
            await self.stream.send_eof()
        else:
            await trio.aclose_forcefully(self.stream)

    async def _run(self, steps: list[Step]) -> None:
        for step in steps:
            match step:
                case Write(data=data):
                    await self.stream.send_all(data)
                case Wait(seconds=seconds):
                    await trio.sleep(seconds)
                case Applied(record=record, message=message):
                    self._sink.put([record])
                    logger.warning("#%d %s", self.injector.conn, message)
                case Close(reason=reason):
                    raise FaultClose(reason)

    async def wait_send_all_might_not_block(self) -> None:
        await self.stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.stream.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.stream.aclose()
