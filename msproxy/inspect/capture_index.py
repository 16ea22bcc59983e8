"""msproxy/inspect/capture_index: where each connection's commands are in a capture file.

A tool that works one connection at a time (``diff``) need not hold a whole capture:
``index_capture`` reads the file once, keeping the records that are not commands (the
header, ``open``, ``close``...) and, for each connection, where its ``cmd`` and ``raw``
records are: the line's offset and length, and the command's place in a ``run`` line,
in two compact arrays (12 bytes a command). ``CaptureIndex.records`` then reads one
connection's records back, in order, with a few large reads (lines near each other are
read together).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from msproxy.capture import CaptureFormatError, Record
from msproxy.capture.format import run_records
from msproxy.capture.reader import decode_line, read_located_lines

RUN_BITS = 24  # a place is offset << RUN_BITS | index of the command in its line
_MAX_OFFSET = 1 << (63 - RUN_BITS)  # what a place in a signed 64-bit array can hold
_MAX_LENGTH = 1 << 32  # lengths are unsigned 32-bit
GAP = 16_384  # two wanted lines at most this far apart are read in one read
SPAN = 1 << 20  # one read covers at most this many bytes (unless one line is longer)
_TICK = 4096  # records between two progress reports while reading


@dataclass(slots=True)
class Spans:
    """Where the commands of one connection are in the file, in capture order."""

    places: array[int] = field(default_factory=lambda: array("q"))  # offset << RUN_BITS | index
    lengths: array[int] = field(default_factory=lambda: array("I"))  # each line's length

    def __len__(self) -> int:
        return len(self.places)


@dataclass(slots=True)
class CaptureIndex:
    """A capture file read once: its other records kept, its commands located."""

    path: str
    kept: list[Record]  # the header and every record that is not ``cmd`` or ``raw``
    spans: dict[int, Spans]  # by connection, in the order their first command came

    def records(self, conn: int, wanted: Iterable[int] | None = None) -> Iterator[Record]:
        """The ``cmd`` and ``raw`` records of connection ``conn``, read back from the file:
        all of them, or the ``wanted`` ones (increasing numbers, from 0, in capture order).

        Raises:
            OSError: the file cannot be read.
            CaptureFormatError: the file changed since it was indexed.
        """
        spans = self.spans.get(conn)
        if spans is None:
            return
        numbers: Sequence[int] = range(len(spans)) if wanted is None else list(wanted)
        last_offset = -1
        last: list[Record] = []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for number, line in _lines(fd, spans, numbers, self.path):
                place = spans.places[number]
                offset = place >> RUN_BITS
                if offset != last_offset:  # the commands of a run share one line
                    last_offset, last = offset, _line_records(line, self.path)
                index = place & ((1 << RUN_BITS) - 1)
                if index >= len(last):
                    raise _changed(self.path)
                yield last[index]
        finally:
            os.close(fd)


def index_capture(
    path: str | os.PathLike[str],
    see: Callable[[Record], None],
    *,
    progress: Callable[[int, int], None] | None = None,
    source: str | None = None,
) -> CaptureIndex:
    """The ``CaptureIndex`` of the capture file at ``path``, read once as ``read_capture``
    reads it (runs expanded); ``see`` is shown every ``cmd`` and ``raw`` record, in order,
    ``progress`` told (records read, 0); ``source`` names the file in errors.

    Raises:
        OSError: the file cannot be read.
        CaptureFormatError: it is not a capture this reader understands, a command has no
            integer ``conn``, or the file is too large to index.
    """
    name = source or os.fspath(path)
    kept: list[Record] = []
    spans: dict[int, Spans] = {}
    where = [0, 0]  # the offset and length of the line being read
    count = 0
    with open(path, "rb") as file:
        for count, (line, index, record) in enumerate(
            read_located_lines(_measured(file, where), source or path), start=1
        ):
            if progress is not None and count % _TICK == 0:
                progress(count, 0)
            if record.get("type") not in ("cmd", "raw") or count == 1:
                kept.append(record)
                continue
            conn = record.get("conn")
            if not isinstance(conn, int) or isinstance(conn, bool):
                raise CaptureFormatError(f"{name}: line {line} has no integer 'conn'")
            offset, length = where
            if index >> RUN_BITS:
                raise CaptureFormatError(f"{name}: line {line} is too long a run")
            if offset >= _MAX_OFFSET or length >= _MAX_LENGTH:
                raise CaptureFormatError(f"{name}: line {line} is beyond what can be indexed")
            located = spans.get(conn)
            if located is None:
                located = spans[conn] = Spans()
            located.places.append(offset << RUN_BITS | index)
            located.lengths.append(length)
            see(record)
    if progress is not None:
        progress(count, 0)
    return CaptureIndex(os.fspath(path), kept, spans)


def _measured(lines: Iterable[bytes], where: list[int]) -> Iterator[bytes]:
    """``lines``, with ``where`` set to each one's offset and length as it is handed out."""
    offset = 0
    for line in lines:
        where[0], where[1] = offset, len(line)
        offset += len(line)
        yield line


def _lines(fd: int, spans: Spans, numbers: Sequence[int], path: str) -> Iterator[tuple[int, bytes]]:
    """(number, line) of each of ``numbers``: lines less than ``GAP`` apart are read in
    one ``pread`` of at most ``SPAN`` bytes."""
    places, lengths = spans.places, spans.lengths
    first, count = 0, len(numbers)
    while first < count:
        start = places[numbers[first]] >> RUN_BITS
        end = start + lengths[numbers[first]]
        last = first + 1
        while last < count:
            at = places[numbers[last]] >> RUN_BITS
            stop = at + lengths[numbers[last]]
            if at - end > GAP or stop - start > SPAN:
                break
            end = max(end, stop)
            last += 1
        data = os.pread(fd, end - start, start)
        if len(data) != end - start:
            raise _changed(path)
        for number in numbers[first:last]:
            at = (places[number] >> RUN_BITS) - start
            yield number, data[at : at + lengths[number]]
        first = last


def _line_records(line: bytes, path: str) -> list[Record]:
    """The records of a line read before (a ``run``'s commands, or the one record)."""
    try:
        record = decode_line(line)
        if isinstance(record, dict) and record.get("type") == "run":
            return run_records(record)
    except (ValueError, CaptureFormatError):
        raise _changed(path) from None
    if not isinstance(record, dict) or record.get("type") not in ("cmd", "raw"):
        raise _changed(path)
    return [record]


def _changed(path: str) -> CaptureFormatError:
    return CaptureFormatError(f"{path}: the capture changed while it was read")
