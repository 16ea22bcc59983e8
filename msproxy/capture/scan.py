"""msproxy/capture/scan: the records of runs of ordinary commands, in C when built.

``RecordScanner`` is a ``Framer`` bulk scanner (``msmgr.codec.BulkScanner``): on the
relay's path it only frames runs of ordinary commands (``msproxy.capture.ordinary``), in
one call per chunk, with no ``Command`` object and no record dict; each run goes to the
capture queue as a ``ScannedRun``, whose records are encoded when the capture writer
writes its batch: ``run`` records from format version 2 on (``RUN_VERSION``), ``cmd``
records before. Whatever is not ordinary is left to the framer and reaches the relay as
``Command`` objects.

The Python code here and in ``ordinary`` is the definition. The optional C extension
``_scan`` (built by ``pip install`` when a C compiler is there) is its faster path:
the same framing, the same JSON text byte for byte, written without the GIL for big
runs; the tests hold the two equal. ``accelerate`` chooses between them.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Iterable, Sequence
from functools import lru_cache
from types import ModuleType

from msmgr.codec import Command, CommandRun, Direction, Framer, Limits
from msmgr.codec.accel import load_accelerator
from msmgr.codec.framer import FastRules, fast_rules

from .encode import RecordRun, encode_record, encode_records, encode_text
from .ordinary import OrdinaryRules, scan_ordinary, stretches
from .records import FORMAT_VERSION, RUN_VERSION, Record, command_record, run_record

logger = logging.getLogger(__name__)

SCAN_ABI = 5
"""The interface of ``_scan`` these sources call (its ``ABI``; see ``msmgr.codec.accel``):
2 added ``runs``, whose records' type the C code writes; 4: a frame-only ``scan``
returns where each command ends, which ``runs`` takes; 5: ``text`` (3) is gone."""
_scan: ModuleType | None
_scan, SCAN_MISSING = load_accelerator("msproxy.capture._scan", SCAN_ABI)

PURE_PYTHON_ENV = "MSPROXY_PURE_PYTHON"
"""The environment variable with which the ``msproxy`` command line turns the C path
off (``ProxyConfig(accelerate=False)``); library code does not read it."""


def accelerated() -> bool:
    """True when the C path is built (what ``accelerate=None`` chooses)."""
    return _scan is not None


def fast_path_status(accelerate: bool | None = None) -> tuple[bool, str]:
    """(whether something is amiss, a phrase saying which path capture records take
    with the choice ``accelerate``)."""
    if _scan is None:
        if SCAN_MISSING and SCAN_MISSING != "not built":
            return True, f"pure Python: the C extension msproxy.capture._scan is {SCAN_MISSING}"
        return True, (
            "pure Python: the C extension msproxy.capture._scan is not built (reinstall "
            "with a C compiler for about twenty times the throughput)"
        )
    if accelerate is False:
        return False, f"pure Python (turned off: accelerate=False, or {PURE_PYTHON_ENV}=1)"
    return False, "C"


@lru_cache(maxsize=64)
def _ordinary_rules(tables: FastRules) -> OrdinaryRules:
    return OrdinaryRules(tables)


class RecordScanner:
    """The bulk scanner of one direction of one proxied connection.

    As a ``BulkScanner`` it only frames (fast, on the relay's path); ``run`` wraps each
    ``CommandRun`` it framed in a ``ScannedRun``, whose records are written when the
    capture writer encodes its batch.

    Args:
        conn: the connection number written in the records.
        direction: the direction framed (its payload and TrID tables).
        slow: line prefixes the caller must see as ``Command`` objects, each a verb or a
            verb and its first argument (``"XFR"``, ``"MSG Hotmail"``); the direction's
            ``DIALECT_VERBS`` are always added.
        limits: the framer's limits (commands near them are left to the framer).
        accelerate: frame and encode with the C extension; None (the default): when
            it is built; True without it raises RuntimeError.
    """

    __slots__ = ("_c", "_rules", "_tables", "conn", "dir", "direction", "limits")

    def __init__(
        self,
        conn: int,
        direction: Direction,
        *,
        slow: Iterable[str] = (),
        limits: Limits | None = None,
        accelerate: bool | None = None,
    ) -> None:
        if accelerate and _scan is None:
            raise RuntimeError("the C extension msproxy.capture._scan is not built")
        self._c = _scan if accelerate is not False else None
        self.conn = conn
        self.direction = direction
        self.dir = direction.value
        self.limits = limits or Limits()
        self._tables = fast_rules(direction, self.limits, frozenset(slow))
        self._rules = _ordinary_rules(self._tables)

    @property
    def accelerated(self) -> bool:
        """Whether this scanner uses the C extension."""
        return self._c is not None

    def __call__(self, work: bytes, pos: int) -> tuple[int, int, bytes]:
        """``BulkScanner``: frame the ordinary commands at ``work[pos:]`` (no records);
        the data is where each command ends from ``pos``, as native uint32 values."""
        if self._c is not None:
            result: tuple[int, int, bytes] = self._c.scan(work, pos, None, *self._tables)
            return result
        new, ends = scan_ordinary(work, pos, self._rules)
        return new, len(ends), array("I", ends).tobytes() if ends else b""

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
        if self._c is not None:
            encoded = self._c_records(raw, count, t, version, ends)
            if encoded is not None:
                return encoded
        if version < RUN_VERSION:
            return encode_records(self._cmd_records(raw, t))
        offsets = self._ends(raw, count, ends)
        if offsets is None:  # (a bug: the run is written all the same)
            return encode_records(self._cmd_records(raw, t))
        return b"".join(self._run_lines(raw, offsets, t))

    def _ends(
        self, raw: bytes | memoryview, count: int, ends: bytes | None
    ) -> Sequence[int] | None:
        """Where each of the ``count`` commands of ``raw`` ends (``ends`` as this
        scanner's framing returned it, or framed again); None, the bug logged, when
        these are not ``count`` ordinary commands filling ``raw``."""
        offsets: Sequence[int]
        if ends:
            offsets = array("I", ends)
        else:
            _, offsets = scan_ordinary(bytes(raw), 0, self._rules)
        if len(offsets) == count and offsets and offsets[-1] == len(raw):
            return offsets
        logger.error(
            "capture: %d commands framed as %d (%d of %d bytes); written as cmd records",
            count,
            len(offsets),
            offsets[-1] if offsets else 0,
            len(raw),
        )
        return None

    def _run_lines(self, raw: bytes | memoryview, ends: Sequence[int], t: float) -> list[bytes]:
        """Format version 2: a ``run`` record per stretch (``ordinary.stretches``), the
        ``cmd`` record of its command for a stretch of one."""
        lines = []
        framer = None
        for text, start, stop, count in stretches(raw, ends):
            piece = raw[start:stop]
            if count == 1:
                framer = framer or Framer(self.direction, strict=False, limits=self.limits)
                lines.append(encode_records(self._cmd_records(piece, t, framer)))
                continue
            record = run_record(self.conn, self.dir, piece, count, t, text=text)
            lines.append(encode_record(record))
        return lines

    def _cmd_records(
        self, raw: bytes | memoryview, t: float, framer: Framer | None = None
    ) -> list[Record]:
        """The ``cmd`` records of the commands of ``raw`` (the framer's, the definition;
        ``framer``: one of this direction with nothing pending, to use again)."""
        framer = framer or Framer(self.direction, strict=False, limits=self.limits)
        return [
            command_record(self.conn, self.dir, event, t)
            for event in [*framer.feed(raw), *framer.close()]
            if isinstance(event, Command)
        ]

    def _c_records(
        self, raw: bytes | memoryview, count: int, t: float, version: int, ends: bytes | None
    ) -> bytes | None:
        """``encode_run`` by the C extension; None (the bug logged) when it frames the
        bytes otherwise than the relay's framing did."""
        assert self._c is not None
        # The record's first keys, encoded by the Python encoder itself (so the time
        # reads exactly as in a record it encodes), without the closing brace.
        keys = encode_text({"t": t, "conn": self.conn, "dir": self.dir})[1:-1] + ","
        if version >= RUN_VERSION:
            # (the C code writes the type: "run", or "cmd" for a run of one command)
            try:
                encoded = self._c.runs(raw, 0, keys.encode("utf-8"), *self._tables, ends or None)
            except ValueError as exc:  # ends that do not fit these bytes (a bug)
                logger.error("capture fast path: %s", exc)
                encoded = (0, 0, b"")
        else:
            head = '{"type":"cmd",' + keys
            encoded = self._c.scan(raw, 0, head.encode("utf-8"), *self._tables)
        end, done, data = encoded
        if end == len(raw) and done == count:
            return bytes(data)
        logger.error(
            "capture fast path: %d commands framed as %d (%d of %d bytes); "
            "written by the Python path",
            count,
            done,
            end,
            len(raw),
        )
        return None


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
