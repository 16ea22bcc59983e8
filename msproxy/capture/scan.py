"""msproxy/capture/scan: ``cmd`` records for runs of ordinary commands, at C speed.

Strategy: the proxy spends most of its time turning commands into capture records, one
Python call after another. ``RecordScanner`` is a ``Framer`` bulk scanner
(``msmgr.codec.BulkScanner``) backed by the optional C extension ``_scan``: it frames
runs of ordinary commands and writes their ``cmd`` records straight to JSON Lines in
one call per chunk (an ``EncodedRecords`` item in the capture queue), with no
``Command`` object and no record dict. Whatever is not ordinary (lines that are not
printable ASCII or not CRLF-ended, verbs that are not three letters, anything near a
limit, and the commands the caller names: redirects, secrets to redact, ``VER``) is
left to the framer and the relay's Python path, which stays the definition of the
format. Both paths give the same bytes; the tests compare them on generated traffic.

The C extension is built by ``pip install`` when a C compiler is there; without it (or
with ``MSPROXY_PURE_PYTHON=1`` in the environment) ``accelerated()`` is False and the
proxy uses the Python path only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import ModuleType

from msmgr.codec import Direction, Limits
from msmgr.codec.tables import DIALECT_VERBS, NO_TRID_VERBS, PAYLOAD_VERBS

from .encode import encode_text

_scan: ModuleType | None
try:
    from . import _scan  # type: ignore[attr-defined, no-redef, unused-ignore]
except ImportError:  # pragma: no cover - depends on how the package was installed
    _scan = None

PURE_PYTHON_ENV = "MSPROXY_PURE_PYTHON"
"""Set to a non-empty value to turn the C fast path off (for comparisons and debugging)."""


def accelerated() -> bool:
    """True when the C fast path is built and not turned off by ``MSPROXY_PURE_PYTHON``."""
    return _scan is not None and not os.environ.get(PURE_PYTHON_ENV)


def _packed(verbs: Iterable[str]) -> bytes:
    """Three-letter verbs as one bytes string (``b"MSGQRY..."``), the C side's sets."""
    return b"".join(sorted(v.encode("ascii") for v in verbs if len(v) == 3 and v.isascii()))


class RecordScanner:
    """The bulk scanner of one direction of one proxied connection (C fast path).

    Args:
        conn: the connection number written in the records.
        direction: the direction framed (its payload and TrID tables).
        slow: line prefixes the caller must see as ``Command`` objects, each a verb or a
            verb and its first argument (``"XFR"``, ``"MSG Hotmail"``); the direction's
            ``DIALECT_VERBS`` are always added.
        limits: the framer's limits (commands near them are left to the framer).

    Set ``t`` to the arrival time of each chunk before feeding it.
    """

    __slots__ = (
        "_head",
        "_head_t",
        "_max_line",
        "_max_payload",
        "_no_trid",
        "_payload",
        "_slow",
        "conn",
        "dir",
        "t",
    )

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
        limits = limits if limits is not None else Limits()
        self.conn = conn
        self.dir = direction.value
        self.t = 0.0
        self._payload = _packed(PAYLOAD_VERBS[direction])
        self._no_trid = _packed(NO_TRID_VERBS[direction])
        prefixes = set(slow) | DIALECT_VERBS[direction]
        self._slow = tuple(sorted(p.encode("ascii") for p in prefixes))
        self._max_line = limits.max_line
        self._max_payload = limits.max_payload
        self._head_t: float | None = None
        self._head = b""

    def __call__(self, work: bytes, pos: int) -> tuple[int, int, bytes]:
        """``BulkScanner``: the ``cmd`` records of the ordinary commands at ``work[pos:]``."""
        if self.t != self._head_t:
            # The record's first keys, encoded by the Python encoder itself (so the
            # time reads exactly as in a record it encodes), without the closing brace.
            head = encode_text({"type": "cmd", "t": self.t, "conn": self.conn, "dir": self.dir})
            self._head = head[:-1].encode("utf-8") + b","
            self._head_t = self.t
        assert _scan is not None
        result: tuple[int, int, bytes] = _scan.scan(
            work,
            pos,
            self._head,
            self._payload,
            self._no_trid,
            self._slow,
            self._max_line,
            self._max_payload,
        )
        return result
