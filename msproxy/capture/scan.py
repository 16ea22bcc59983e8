"""msproxy/capture/scan: the records of runs of ordinary commands, at C speed.

Strategy: the proxy spent most of its time turning commands into capture records, one
Python call after another. ``RecordScanner`` is a ``Framer`` bulk scanner
(``msmgr.codec.BulkScanner``) backed by the optional C extension ``_scan``: on the
relay's path it only frames runs of ordinary commands, in one call per chunk, with no
``Command`` object and no record dict; the run's bytes go to the capture queue as a
``ScannedRun``, and when the capture writer encodes its batch, the same C code writes
their records straight to JSON Lines (releasing the GIL for big runs): ``run`` records
in format version 2 (the commands' bytes as they are, JSON-escaped text or base64,
many commands per record), ``cmd`` records in version 1.

Whatever is not ordinary (lines that are not printable ASCII or not CRLF-ended, verbs
that are not three letters, anything near a limit, and the commands the caller names:
redirects, secrets to redact, ``VER``) is left to the framer and the relay's Python
path, which stays the definition of the format. Both paths give the same records
(version 1: the same bytes; version 2: the Python path writes ``cmd`` records, the same
that ``read_capture`` makes of a ``run``); the tests compare them on generated traffic
and on every byte value at every position.

The C extension is built by ``pip install`` when a C compiler is there; without it (or
with ``MSPROXY_PURE_PYTHON=1`` in the environment) ``accelerated()`` is False and the
proxy uses the Python path only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from types import ModuleType

from msmgr.codec import Command, CommandRun, Direction, Framer, Limits
from msmgr.codec.accel import load_accelerator
from msmgr.codec.framer import fast_rules

from .encode import RecordRun, encode_records, encode_text
from .format import FORMAT_VERSION, RUN_VERSION, Record, command_record

logger = logging.getLogger(__name__)

SCAN_ABI = 5
"""The interface of ``_scan`` these sources call (its ``ABI``; see ``msmgr.codec.accel``):
2 added ``runs``, whose records' type the C code writes; 4: a frame-only ``scan``
returns where each command ends, which ``runs`` takes; 5: ``text`` (3) is gone."""
_scan: ModuleType | None
_scan, SCAN_MISSING = load_accelerator("msproxy.capture._scan", SCAN_ABI)

PURE_PYTHON_ENV = "MSPROXY_PURE_PYTHON"
"""Set to a non-empty value to turn the C fast path off (for comparisons and debugging)."""


def accelerated() -> bool:
    """True when the C fast path is built and not turned off by ``MSPROXY_PURE_PYTHON``."""
    return _scan is not None and not os.environ.get(PURE_PYTHON_ENV)


def fast_path_status() -> tuple[bool, str]:
    """(whether something is amiss, a phrase saying which path capture records take)."""
    if _scan is None:
        if SCAN_MISSING and SCAN_MISSING != "not built":
            return True, f"pure Python: the C extension msproxy.capture._scan is {SCAN_MISSING}"
        return True, (
            "pure Python: the C extension msproxy.capture._scan is not built (reinstall "
            "with a C compiler for about twenty times the throughput)"
        )
    if os.environ.get(PURE_PYTHON_ENV):
        return False, f"pure Python ({PURE_PYTHON_ENV} is set)"
    return False, "C"


class RecordScanner:
    """The bulk scanner of one direction of one proxied connection (C fast path).

    As a ``BulkScanner`` it only frames (fast, on the relay's path); ``run`` wraps each
    ``CommandRun`` it framed in a ``ScannedRun``, whose ``cmd`` records are written when
    the capture writer encodes its batch.

    Args:
        conn: the connection number written in the records.
        direction: the direction framed (its payload and TrID tables).
        slow: line prefixes the caller must see as ``Command`` objects, each a verb or a
            verb and its first argument (``"XFR"``, ``"MSG Hotmail"``); the direction's
            ``DIALECT_VERBS`` are always added.
        limits: the framer's limits (commands near them are left to the framer).
    """

    __slots__ = ("_tables", "conn", "dir", "direction")

    def __init__(
        self,
        conn: int,
        direction: Direction,
        *,
        slow: Iterable[str] = (),
        limits: Limits | None = None,
    ) -> None:
        if _scan is None:
            raise RuntimeError("the C extension msproxy.capture._scan is not built")
        self.conn = conn
        self.direction = direction
        self.dir = direction.value
        self._tables = fast_rules(direction, limits or Limits(), frozenset(slow))

    def __call__(self, work: bytes, pos: int) -> tuple[int, int, bytes]:
        """``BulkScanner``: frame the ordinary commands at ``work[pos:]`` (no records)."""
        assert _scan is not None
        result: tuple[int, int, bytes] = _scan.scan(work, pos, None, *self._tables)
        return result

    def run(self, run: CommandRun, t: float) -> ScannedRun:
        """The capture item of a run this scanner framed, read at time ``t``."""
        return ScannedRun(self, run.raw, run.count, t, run.data)

    def encode_run(
        self,
        raw: bytes | memoryview,
        count: int,
        t: float,
        version: int = FORMAT_VERSION,
        ends: bytes | None = None,
    ) -> bytes:
        """The records (JSON Lines) of the ``count`` commands of ``raw``: ``run`` records
        from format version 2 on (``RUN_VERSION``), ``cmd`` records before. ``ends``:
        where each command ends, as this scanner's framing returned it (then version 2
        does not frame them again)."""
        assert _scan is not None
        # The record's first keys, encoded by the Python encoder itself (so the time
        # reads exactly as in a record it encodes), without the closing brace.
        keys = encode_text({"t": t, "conn": self.conn, "dir": self.dir})[1:-1] + ","
        if version >= RUN_VERSION:
            # (the C code writes the type: "run", or "cmd" for a run of one command)
            try:
                encoded = _scan.runs(raw, 0, keys.encode("utf-8"), *self._tables, ends or None)
            except ValueError as exc:  # ends that do not fit these bytes (a bug)
                logger.error("capture fast path: %s", exc)
                encoded = (0, 0, b"")
        else:
            head = '{"type":"cmd",' + keys
            encoded = _scan.scan(raw, 0, head.encode("utf-8"), *self._tables)
        end, done, data = encoded
        if end == len(raw) and done == count:
            return bytes(data)
        # Framing the same bytes gave another result (a bug): write them the Python way.
        logger.error(
            "capture fast path: %d commands framed as %d (%d of %d bytes); "
            "written by the Python path",
            count,
            done,
            end,
            len(raw),
        )
        framer = Framer(self.direction, strict=False, accelerate=False)  # the definition
        records: list[Record] = [
            command_record(self.conn, self.dir, event, t)
            for event in [*framer.feed(raw), *framer.close()]
            if isinstance(event, Command)
        ]
        return encode_records(records)


class ScannedRun(RecordRun):
    """A run of ordinary commands in the capture queue; its records (``run`` or ``cmd``,
    by format version) are encoded when written."""

    __slots__ = ("ends", "raw", "scanner", "t")

    def __init__(
        self,
        scanner: RecordScanner,
        raw: bytes | memoryview,
        count: int,
        t: float,
        ends: bytes | None = None,
    ) -> None:
        super().__init__(count, len(raw))
        self.scanner = scanner
        self.raw = raw
        self.t = t
        self.ends = ends  # where each command ends (the frame-only scan's output)

    def encode(self, version: int = FORMAT_VERSION) -> bytes:
        return self.scanner.encode_run(self.raw, self.count, self.t, version, self.ends)
