"""msproxy/capture/encode: capture records to JSON Lines bytes, fast, and never failing.

Compact separators, UTF-8 text, keys in insertion order; a batch is encoded with one C
encoder made once (``json.dumps`` builds a new encoder per call; see
docs/performance.md).

Two kinds of record cannot be written as UTF-8 JSON as they are:

* a string with lone surrogates (``command_record`` never makes one: a non-UTF-8 line
  is kept in ``line_b64``): it is written with ``\\udcff``-style escapes (ASCII JSON),
  which ``read_capture`` turns back into the same string;
* anything ``json`` refuses (a bug): it becomes an ``error`` record of kind
  ``"capture"`` naming the record type, instead of stopping the proxy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from .records import FORMAT_VERSION, Record

logger = logging.getLogger(__name__)

_FALLBACK = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False)


def _make_encoder() -> Callable[[Record], str]:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return _FALLBACK.encode
    chunks = make(
        None,  # markers: no circular check (records are flat)
        _FALLBACK.default,  # raises TypeError for what JSON cannot hold
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan (as json.dumps)
    )

    def encode(record: Record) -> str:
        return "".join(chunks(record, 0))

    return encode


encode_text = _make_encoder()
"""One record as one line of JSON text (no newline)."""


class RecordRun:
    """A run of ``count`` records queued as one item, encoded only when written (the C
    fast path's ``msproxy.capture.scan.ScannedRun``)."""

    __slots__ = ("count", "size")

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = size  # the bytes of the commands (what the capture queue weighs)

    def encode(self, version: int = FORMAT_VERSION) -> bytes:
        """The JSON Lines of the run in capture format ``version``: ``count`` ``cmd``
        records, or (version 2 on) ``run`` records holding them."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.count} records>"


def encode_records(records: Sequence[Record | RecordRun], version: int = FORMAT_VERSION) -> bytes:
    """The JSON Lines bytes of ``records`` in capture format ``version``, each line
    ended by ``\\n``."""
    # Line by line to bytes, then one join: joining the text first makes one huge string,
    # then one huge encode, for big payloads.
    return b"".join(encode_pieces(records, version))


def encode_pieces(
    records: Sequence[Record | RecordRun], version: int = FORMAT_VERSION
) -> list[bytes]:
    """``encode_records`` in pieces (whole lines each: one per record, or the lines of a
    run), for a writer that writes them with one ``writev`` instead of joining them."""
    lines = []
    for record in records:
        if isinstance(record, RecordRun):
            lines.append(record.encode(version))
            continue
        try:
            lines.append((encode_text(record) + "\n").encode("utf-8"))
        except (UnicodeEncodeError, TypeError, ValueError):
            lines.append(encode_record(record))
    return lines


def encode_record(record: Record) -> bytes:
    """One record as one line of JSON (UTF-8, no inner newlines, ``\\n`` at the end)."""
    try:
        return (encode_text(record) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (_ASCII.encode(record) + "\n").encode("ascii")
    except (TypeError, ValueError) as exc:
        logger.error("cannot write a %r record to the capture: %s", record.get("type"), exc)
        error: dict[str, Any] = {
            "type": "error",
            "t": record.get("t") if isinstance(record.get("t"), int | float) else 0.0,
            "conn": record.get("conn") if isinstance(record.get("conn"), int) else 0,
            "kind": "capture",
            "message": f"a {record.get('type')!r} record could not be written: {exc}",
        }
        return (_ASCII.encode(error) + "\n").encode("ascii")
