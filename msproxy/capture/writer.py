"""msproxy/capture/writer: append-only capture files, every record on disk when written."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .encode import encode_record, encode_records
from .format import FORMAT_VERSION, Record, header_record

_writev = getattr(os, "writev", None)
_IOV_MAX = max(16, min(1024, os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 16))
"""Pieces per ``writev`` call (the system's limit, 1024 on Linux)."""


def drop_written(fd: int, start: int, end: int) -> None:
    """Get a file onto the disk (``fdatasync``; blocks) and its bytes ``start``-``end``
    out of the page cache (where ``posix_fadvise`` exists)."""
    os.fdatasync(fd)
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None and end > start:
        advise(fd, start, end - start, os.POSIX_FADV_DONTNEED)


class CaptureWriteError(OSError):
    """Raised when appending to a capture fails (a full disk, EIO): ``kept`` of the
    call's pieces (records, for ``write``) are whole in the file, none of the others."""

    def __init__(self, cause: OSError, path: Path, kept: int) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.kept = kept


class CaptureWriter:
    """An open capture file, appended to with one system call per batch of records.

    The file is created readable and writable by its owner only (0600). Each call to
    ``write``/``write_many`` issues a single unbuffered ``write(2)``, ``write_pieces`` one
    ``writev(2)`` per 1024 pieces, so a process killed at any moment leaves a file whose
    every complete line is a valid record. A write that fails (a full disk, EIO) cuts the
    file back to the end of the last piece it wrote whole, so the file still ends with a
    complete line, and raises ``CaptureWriteError`` saying how many pieces stayed.

    Args:
        path: the capture file; it must not exist yet unless ``append`` is True.
        tool: the name and version of the program writing it, for the header.
        started: the capture's start time (Unix seconds), for the header.
        append: add to an existing capture instead of creating a new one (of the same
            ``version``: not checked).
        version: the capture format version to write (``msproxy.capture.VERSIONS``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tool: str,
        started: float,
        append: bool = False,
        version: int = FORMAT_VERSION,
        **header: Any,
    ) -> None:
        self.path = Path(path)
        self.version = version
        header_line = header_record(started, tool, version=version, **header)  # checks it
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        if not append:
            flags |= os.O_EXCL
        self._fd: int | None = os.open(self.path, flags, 0o600)
        self.records_written = 0
        self.torn = False  # a failed write could not be cut back: the last line is torn
        self._end = os.fstat(self._fd).st_size  # the file's size (appends only)
        self._kept = self._end  # bytes from here on may still be in the page cache
        if not append or self._end == 0:
            self.write(header_line)

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called (no more writes are possible)."""
        return self._fd is None

    def write(self, record: Record) -> None:
        """Append one record."""
        self._write(encode_record(record))
        self.records_written += 1

    def write_many(self, records: Iterable[Record]) -> None:
        """Append several records in one write."""
        batch = list(records)
        if batch:
            self._write(encode_records(batch, self.version))
            self.records_written += len(batch)

    def write_pieces(self, pieces: list[bytes], records: int) -> None:
        """Append records encoded in pieces of whole lines (``encode_pieces``) holding
        ``records`` records, with one ``writev`` per ``IOV_MAX`` pieces: no copy of the
        batch into one buffer first."""
        if self._fd is None:
            raise ValueError(f"capture {self.path} is closed")
        start = self._end
        try:
            if _writev is None:  # pragma: no cover - not on POSIX
                self._append(b"".join(pieces))
            else:
                for first in range(0, len(pieces), _IOV_MAX):
                    group = pieces[first : first + _IOV_MAX]
                    written = _writev(self._fd, group)
                    self._end += written
                    size = sum(map(len, group))
                    if written < size:  # (a short write: the rest the simple way)
                        self._append(b"".join(group)[written:])
        except OSError as exc:
            raise self._failed(exc, start, pieces) from exc
        self.records_written += records

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError(f"capture {self.path} is closed")
        start = self._end
        try:
            self._append(data)
        except OSError as exc:
            raise self._failed(exc, start, [data]) from exc

    def _append(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
            self._end += written

    def _failed(self, exc: OSError, start: int, pieces: list[bytes]) -> CaptureWriteError:
        """After a failed write (a full disk, EIO) of ``pieces`` from ``start``: cut the
        file back to the end of the last piece written whole, so that no torn line is
        left (``torn`` says when even that failed); the error to raise."""
        assert self._fd is not None
        done, kept, end = self._end - start, 0, start
        for piece in pieces:
            if done < len(piece):
                break
            done -= len(piece)
            kept += 1
            end += len(piece)
        if self._end != end:
            try:
                os.ftruncate(self._fd, end)
            except OSError:
                self.torn = True
            else:
                self._end = end
                self._kept = min(self._kept, end)
        return CaptureWriteError(exc, self.path, kept)

    @property
    def cached(self) -> int:
        """Bytes written since the last ``drop_cached`` (maybe still in the page cache)."""
        return self._end - self._kept

    def drop_cached(self) -> None:
        """Get what was written onto the disk and out of the page cache.

        Blocks until the disk has it (``fdatasync``): call it from a worker thread. A
        long capture then neither fills the page cache (evicting other files) nor makes
        appending dearer (see ``docs/performance.md``). Where ``posix_fadvise`` is
        missing, only the ``fdatasync`` is done.
        """
        if self._fd is None:
            raise ValueError(f"capture {self.path} is closed")
        drop_written(self._fd, self._kept, self._end)
        self._kept = self._end

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
