"""msproxy/inspect/tail: the lines of a capture as it grows, and progress while reading.

``follow_lines`` reads like ``tail -f``: at the end of the file it asks ``idle`` (which
waits a little) and reads again, handing out whole lines only, so a record being
written is read once it is complete. ``progress_lines`` passes lines through and
reports how far into the file it is, on a terminal, a few times a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, TextIO

FOLLOW_POLL = 0.25
"""Seconds ``msproxy show --follow`` waits at the end of the capture before reading again."""
PROGRESS_EVERY = 0.5
"""Seconds between two progress reports."""


def follow_lines(file: BinaryIO, idle: Callable[[], bool]) -> Iterator[bytes]:
    """The lines of ``file``, then those written later: at the end, ``idle()`` is called
    (it sleeps) and a false answer ends the lines (a last unfinished line is handed out)."""
    pending = b""
    while True:
        line = file.readline()
        if line:
            pending += line
            if pending.endswith(b"\n"):
                yield pending
                pending = b""
            continue
        if not idle():
            if pending:
                yield pending
            return


def sleeper(seconds: float = FOLLOW_POLL) -> Callable[[], bool]:
    """An ``idle`` for ``follow_lines`` that waits ``seconds`` and always goes on."""

    def idle() -> bool:
        time.sleep(seconds)
        return True

    return idle


def progress_lines(
    lines: Iterable[bytes],
    total: int,
    out: TextIO,
    label: str,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[bytes]:
    """``lines`` unchanged, writing ``\\r<label>: 42% of 12.3 MB`` to ``out`` every
    ``PROGRESS_EVERY`` seconds, and clearing it at the end."""
    done = 0
    shown = False
    next_report = clock() + PROGRESS_EVERY
    try:
        for count, line in enumerate(lines):
            done += len(line)
            if count % 1024 == 0 and clock() >= next_report:
                percent = 100 * done // total if total else 100
                out.write(f"\r{label}: {percent}% of {total / 1e6:.1f} MB")
                out.flush()
                shown = True
                next_report = clock() + PROGRESS_EVERY
            yield line
    finally:
        if shown:
            out.write("\r\x1b[K")
            out.flush()
