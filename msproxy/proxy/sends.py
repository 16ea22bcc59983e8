"""msproxy/proxy/sends: what one event makes the relay do, in order (bytes, then records).

A ``Batch`` gathers the pieces to forward, the capture records and the log lines that one
event produces, and flushes them in that order: nothing is built or queued between a
chunk and its forward. Neighbouring small pieces are joined (one system call); big ones
go alone (joining copies them).
"""

from __future__ import annotations

from msproxy.capture import Record
from msproxy.capture.encode import RecordRun

from .commands import ProxyCommand, SendData, WriteRecords
from .events import Side

SEND_ALONE = 64 * 1024
"""Bytes from which a piece to forward is sent as it is, not joined to its neighbours
(joining copies it: for a big run of commands that costs more than a system call)."""


def coalesced(chunks: list[bytes | memoryview]) -> list[bytes | memoryview]:
    """The pieces to forward, in order: small neighbours joined, big pieces alone (no copy)."""
    if len(chunks) == 1:
        return chunks
    out: list[bytes | memoryview] = []
    small: list[bytes | memoryview] = []
    for chunk in chunks:
        if len(chunk) < SEND_ALONE:
            small.append(chunk)
            continue
        if small:
            out.append(small[0] if len(small) == 1 else b"".join(small))
            small = []
        out.append(chunk)
    if small:
        out.append(small[0] if len(small) == 1 else b"".join(small))
    return out


class Batch:
    """What one event produces, flushed in order: the bytes to forward first, then the
    capture records and log lines describing them."""

    __slots__ = ("chunks", "forwarded", "logs", "out", "records")

    def __init__(self, out: list[ProxyCommand], *, forwarded: bool = False) -> None:
        self.out = out
        # True: these bytes reached the relay forwarded already (unframed client chunks):
        # record them, send nothing.
        self.forwarded = forwarded
        self.chunks: list[bytes | memoryview] = []
        self.records: list[Record | RecordRun] = []
        self.logs: list[ProxyCommand] = []

    def flush(self, to: Side) -> None:
        """Forward the pieces to ``to``, then the records and logs (the driver executes
        the records even when that forward fails or is cancelled)."""
        if self.chunks:
            if not self.forwarded:
                self.out.extend(SendData(side=to, data=data) for data in coalesced(self.chunks))
            self.chunks = []
        self.flush_records()

    def flush_records(self) -> None:
        """The records and logs only (what was not forwarded is dropped)."""
        if self.records:
            self.out.append(WriteRecords(records=self.records))
            self.records = []
        if self.logs:
            self.out.extend(self.logs)
            self.logs = []
