"""msproxy/proxy/sink: capture records queued by the relays, written by one task.

``put`` never waits and never drops, so a chunk's records are queued right after its
forward (even one that failed) and the capture is never between a chunk and its forward.
One writer task takes what arrived within ``interval``, or at once past ``batch`` records
or ``batch_bytes``, encodes it and appends it with one ``writev(2)``; a big batch is
encoded and written in a worker thread (the C encoder releases the GIL), so forwarding
goes on meanwhile. Every ``DROP_BYTES`` the file is also synced and dropped from the page
cache. Above ``high_water`` records or ``high_water_bytes`` the sessions stop reading
(``wait_room``) until the writer catches up: TCP pushes back, nothing is dropped, memory
stays bounded. ``flush`` writes what is queued (``serve_proxy`` calls it on the way out).
A write that fails (a full disk, EIO) stops the capture, not the relay: the file is cut
back to its last complete line, one ERROR line says so, and from then on records are
counted (``loss``) instead of queued.
Why each constant has its value, with the measurements: ``docs/performance.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import NoReturn

import trio

from msproxy.capture import CaptureWriter, Record
from msproxy.capture.encode import RecordRun, encode_pieces
from msproxy.capture.writer import CaptureWriteError

from .loss import CaptureLoss

logger = logging.getLogger(__name__)

HIGH_WATER = 20_000
"""Queued records above which the sessions wait for the writer."""
HIGH_WATER_BYTES = 64 * 1024 * 1024
"""Queued bytes (payloads, runs) above which the sessions wait for the writer."""
BATCH = 2_000
"""Queued records that wake the writer at once, without waiting for ``interval``."""
BATCH_BYTES = 4 * 1024 * 1024
"""Queued bytes that wake the writer at once."""
INTERVAL = 0.1
"""Seconds a queued record may wait for its write (a capture lags at most this much).
Not shorter: a wake-up that lands on a command's path adds to light traffic's latency;
under load, ``BATCH`` decides."""
THREAD_BYTES = 256 * 1024
"""Batches holding at least this many bytes (see ``backlog_bytes``) are encoded and
written in a worker thread; smaller ones are encoded in the loop (a thread's wake-up
costs more than they do) and written there too, unless it is time for a drop."""
DROP_BYTES = 32 * 1024 * 1024
"""After this much capture, a (worker-thread) write also gets it onto the disk and out
of the page cache (``CaptureWriter.drop_cached``)."""


class CaptureSink:
    """The proxy's queue of capture records in front of a ``CaptureWriter`` (or none)."""

    def __init__(
        self,
        writer: CaptureWriter | None,
        *,
        high_water: int = HIGH_WATER,
        batch: int = BATCH,
        interval: float = INTERVAL,
        high_water_bytes: int = HIGH_WATER_BYTES,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.writer = writer
        self.high_water = high_water
        self.high_water_bytes = high_water_bytes
        self.batch = batch
        self.batch_bytes = batch_bytes
        self.interval = interval
        self.batches_written = 0
        self.loss: CaptureLoss | None = None  # set when a write failed: the capture stopped
        self._queue: list[Record | RecordRun] = []
        self._size = 0  # records in the queue (a RecordRun item counts its records)
        self._bytes = 0  # the bytes they hold (see ``_weigh``)
        self._wakeup = trio.Event()
        self._full = trio.Event()
        self._room = trio.Event()
        self._room.set()

    @property
    def backlog(self) -> int:
        """Records queued and not yet written."""
        return self._size

    @property
    def backlog_bytes(self) -> int:
        """Bytes of payload and commands the queued records hold."""
        return self._bytes

    @property
    def full(self) -> bool:
        """True above a high-water mark: sessions should ``wait_room`` before reading."""
        return not self._room.is_set()

    def put(self, records: Sequence[Record | RecordRun]) -> None:
        """Queue records for writing, in order (never blocks, never drops)."""
        if self.writer is None or not records:
            return
        if self.loss is not None:  # the capture stopped: count what it misses
            self.loss.lost += _weigh(records)[0]
            return
        queue = self._queue
        if not queue:
            self._wakeup.set()
        queue.extend(records)
        count, weight = _weigh(records)
        self._size = size = self._size + count
        self._bytes = held = self._bytes + weight
        if size >= self.batch or held >= self.batch_bytes:
            self._full.set()
            if (size > self.high_water or held > self.high_water_bytes) and self._room.is_set():
                self._room = trio.Event()

    async def wait_room(self) -> None:
        """Wait while the queue is above the high-water mark."""
        await self._room.wait()

    def flush(self) -> None:
        """Write everything queued now (in this thread)."""
        batch, records = self._take()
        if batch and self.loss is not None:
            self.loss.lost += records
        elif batch:
            assert self.writer is not None
            self._write(batch, encode_pieces(batch, self.writer.version), records)

    def _take(self) -> tuple[list[Record | RecordRun], int]:
        """Empty the queue (the sessions may read again); return what it held and how
        many records that stands for.

        So at most ``high_water`` records wait in the queue plus one batch in writing.
        """
        queue, self._queue = self._queue, []
        records, self._size = self._size, 0
        self._bytes = 0
        self._wakeup = trio.Event()
        self._full = trio.Event()
        self._room.set()
        return (queue, records) if self.writer is not None else ([], 0)

    def _write(
        self,
        batch: list[Record | RecordRun],
        pieces: list[bytes],
        records: int,
        drop: bool = False,
    ) -> None:
        """Append ``batch``, encoded (``records`` records, one piece per item), with one
        ``writev``; ``drop``: then get the capture onto the disk and out of the page
        cache (blocks: in a thread). A failure stops the capture."""
        writer = self.writer
        assert writer is not None
        try:
            if pieces:
                writer.write_pieces(pieces, records)
                self.batches_written += 1
        except OSError as exc:
            kept = exc.kept if isinstance(exc, CaptureWriteError) else 0
            self._stop(exc, batch[kept:])
            return
        try:
            if drop:
                writer.drop_cached()
        except OSError as exc:  # written, but maybe not on the disk: stop from the next one
            self._stop(exc, [])

    def _stop(self, exc: OSError, unwritten: Sequence[Record | RecordRun]) -> None:
        """A write failed: the capture stops here, the relay goes on (said once, as an
        ERROR line; the details at INFO)."""
        assert self.writer is not None
        lost = _weigh(unwritten)[0]
        self.loss = loss = CaptureLoss(
            self.writer.path, exc, _since(unwritten), lost=lost, torn=self.writer.torn
        )
        logger.error("%s", loss.stopped())
        logger.info(
            "capture failure details: %r; %d records of the batch not written; the file %s",
            exc,
            lost,
            "keeps a torn last line (it could not be cut back)"
            if loss.torn
            else "ends with its last complete line",
            exc_info=exc,
        )

    async def run(self) -> NoReturn:
        """The writer task: every ``interval`` (or ``batch`` records), one ``writev``."""
        while True:
            await self._wakeup.wait()
            with trio.move_on_after(self.interval):
                await self._full.wait()
            held = self._bytes
            batch, records = self._take()
            assert self.writer is not None
            # Not abandoned on cancellation: a batch taken is always written.
            if held >= THREAD_BYTES:
                # Encoded and written in a worker thread, the loop forwarding meanwhile:
                # the C encoder, writev(2) and fdatasync release the GIL.
                await trio.to_thread.run_sync(self._encode_write, batch, records)
            else:
                pieces = encode_pieces(batch, self.writer.version)
                if self._drop_due(pieces):
                    await trio.to_thread.run_sync(self._write, batch, pieces, records, True)
                else:
                    self._write(batch, pieces, records)
            if self.loss is not None:  # the capture stopped: what was queued is lost too
                self.loss.lost += self._take()[1]
                await trio.sleep_forever()
            await trio.lowlevel.checkpoint()

    def _encode_write(self, batch: list[Record | RecordRun], records: int) -> None:
        """Encode and append a batch (in a worker thread)."""
        assert self.writer is not None
        pieces = encode_pieces(batch, self.writer.version)
        self._write(batch, pieces, records, self._drop_due(pieces))

    def _drop_due(self, pieces: list[bytes]) -> bool:
        """Whether writing ``pieces`` takes the capture past ``DROP_BYTES`` since the
        last drop."""
        assert self.writer is not None
        return self.writer.cached + sum(map(len, pieces)) >= DROP_BYTES


def _since(batch: Sequence[Record | RecordRun]) -> float:
    """The time of the first record of ``batch`` (now when none has one)."""
    for record in batch:
        t = record.get("t") if isinstance(record, dict) else getattr(record, "t", None)
        if isinstance(t, (int, float)):
            return float(t)
    return time.time()


_BULKY = ("payload", "payload_b64", "data", "data_b64", "line", "line_b64")


def _weigh(records: Sequence[Record | RecordRun]) -> tuple[int, int]:
    """(records, bytes held) of ``records``: a run's command bytes, a record's bulky
    strings (payload, data, line), each record counted at 64 bytes at least."""
    count = weight = 0
    for record in records:
        if isinstance(record, RecordRun):
            count += record.count
            weight += record.size
        else:
            count += 1
            weight += 64
            for key in _BULKY:
                value = record.get(key)
                if isinstance(value, str):
                    weight += len(value)
    return count, weight
