"""msproxy/cli/consolestream: the console's log handler, whose writes never block logging.

``msproxy run`` writes its console through ``BackgroundStreamHandler``: a record is
formatted by the caller and queued; a thread writes what is queued to the stream (a
terminal or a pipe may be slow, or not read at all for a while). Once more than
``BUSY_AT`` waits, ``busy`` is True, and the proxy's console counts commands instead of
showing them (``msproxy.proxy.console``). Queued text is bounded (``MAX_PENDING``): beyond it, lines
are dropped and counted, and the next write says how many.
"""

from __future__ import annotations

import logging
import threading
from typing import TextIO

MAX_PENDING = 1024 * 1024
"""Characters queued for the stream at most; more lines are dropped (and counted)."""
BUSY_AT = 64 * 1024
"""Characters queued from which the handler is ``busy`` (the stream is not keeping up)."""
FLUSH_TIMEOUT = 2.0
"""Seconds ``flush`` waits for the queued text to be written."""


class BackgroundStreamHandler(logging.Handler):
    """A ``logging.StreamHandler`` whose writes happen in a thread of its own: logging
    never waits for the stream (set on the root logger by ``msproxy run``)."""

    terminator = "\n"

    def __init__(
        self, stream: TextIO, *, max_pending: int = MAX_PENDING, busy_at: int = BUSY_AT
    ) -> None:
        super().__init__()
        self.stream = stream
        self.max_pending = max_pending
        self.busy_at = busy_at
        self.dropped = 0  # lines dropped since the last write said so
        self._pending: list[str] = []
        self._pending_size = 0  # queued and being written
        self._writer: threading.Thread | None = None  # while there is text to write
        self._done = threading.Condition(self.lock)

    def busy(self) -> bool:
        """True while more than ``busy_at`` characters wait to be written."""
        return self._pending_size > self.busy_at

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        with self._done:
            if self._pending_size + len(text) > self.max_pending:
                self.dropped += 1
                return
            self._pending.append(text)
            self._pending_size += len(text)
            if self._writer is None:  # a thread per burst: none is left when idle
                self._writer = threading.Thread(
                    target=self._write_all, name="console-writer", daemon=True
                )
                self._writer.start()

    def _write_all(self) -> None:
        """Write what is queued until nothing is (the writer thread)."""
        while True:
            with self._done:
                if not self._pending:
                    self._writer = None
                    self._done.notify_all()
                    return
                texts, self._pending = self._pending, []
                dropped, self.dropped = self.dropped, 0
            size = sum(map(len, texts))
            if dropped:
                texts.append(f"... {dropped:,} console lines dropped (the output was slow)\n")
            try:
                self.stream.write("".join(texts))
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken stream: the lines are lost, the proxy goes on
            with self._done:
                self._pending_size -= size

    def flush(self) -> None:
        """Wait (``FLUSH_TIMEOUT`` at most) until what is queued is written."""
        with self._done:
            self._done.wait_for(lambda: self._writer is None, timeout=FLUSH_TIMEOUT)
