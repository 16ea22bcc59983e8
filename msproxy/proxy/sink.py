"""msproxy/proxy/sink: capture records queued by the relays, written by one task.

Relays hand records over with ``put`` (synchronous: it never waits and never drops); a
single writer task encodes them and appends them in one ``write(2)`` per batch, so that
JSON encoding and the system call stay off the path between receiving and forwarding.
``flush`` writes whatever is queued; ``serve_proxy`` calls it on the way out so that the
close records of a shutdown reach the file. A relay that gets far ahead of the disk
waits in ``wait_room`` (backpressure) instead of growing the queue without bound.
"""

from __future__ import annotations

import logging
from typing import NoReturn

import trio
import trio.lowlevel

from msproxy.capture import CaptureWriter
from msproxy.capture import Record as CaptureRecord

logger = logging.getLogger(__name__)

HIGH_WATER = 50_000
"""Queued records above which producers wait for the writer."""


class CaptureSink:
    """The proxy's queue of capture records in front of a ``CaptureWriter`` (or none)."""

    def __init__(self, writer: CaptureWriter | None, *, high_water: int = HIGH_WATER) -> None:
        self.writer = writer
        self.high_water = high_water
        self._queue: list[CaptureRecord] = []
        self._wakeup = trio.Event()
        self._room = trio.Event()
        self._room.set()

    @property
    def backlog(self) -> int:
        """Records queued and not yet written."""
        return len(self._queue)

    def put(self, records: list[CaptureRecord]) -> None:
        """Queue records for writing, in order (never blocks, never drops)."""
        if self.writer is None:
            return
        self._queue.extend(records)
        self._wakeup.set()
        if len(self._queue) > self.high_water and self._room.is_set():
            self._room = trio.Event()

    async def wait_room(self) -> None:
        """Wait while the queue is above the high-water mark."""
        await self._room.wait()

    def flush(self) -> None:
        """Write everything queued now."""
        queue, self._queue = self._queue, []
        if queue and self.writer is not None:
            self.writer.write_many(queue)
        self._room.set()

    async def run(self) -> NoReturn:
        """The writer task: wake up when records arrive, write them in one batch."""
        while True:
            await self._wakeup.wait()
            self._wakeup = trio.Event()
            self.flush()
            await trio.lowlevel.checkpoint()
