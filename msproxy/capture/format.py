"""msproxy/capture/format: the capture records (JSON Lines), to and from commands.

The format is documented for users in ``docs/capture-format.md``; this module is its
single implementation. A capture is one JSON object per line: a ``header`` record,
then ``open``, ``cmd``, ``raw``, ``rewrite``, ``error`` and ``close`` records in the
order they happened. A ``cmd`` record keeps enough to rebuild the exact bytes:

* ``cmd``, ``trid`` and ``args`` (the byte count of a payload command is not in
  ``args``; it is the payload's length);
* ``payload`` (UTF-8 text: no control characters but TAB, LF, CR) or ``payload_b64``
  (anything else), absent without payload;
* ``line`` (or ``line_b64``) only when the line is not the canonical
  ``CMD[ TRID][ ARGS][ LEN]\\r\\n`` (a bare LF, a ``007`` TrID or byte count, ...):
  then it holds the exact line, line end included. A line that is not UTF-8 is always
  kept in ``line_b64`` (its ``args`` then show U+FFFD for the undecodable bytes).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from msmgr.codec import Command, canonical_line

FORMAT_NAME = "msnp-capture"
FORMAT_VERSION = 1

Record = dict[str, Any]

RECORD_TYPES = frozenset({"header", "open", "close", "cmd", "raw", "rewrite", "error"})


class CaptureFormatError(ValueError):
    """A capture file or record that does not follow the capture format."""


# Control characters that make bytes "not text" (TAB, LF and CR are text).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def put_bytes(record: Record, key: str, data: bytes) -> None:
    """Store ``data`` under ``key`` when it is UTF-8 text, else in base64 under ``key + "_b64"``.

    UTF-8 text: valid UTF-8 with no control character other than TAB, LF and CR (binary
    data such as a P2P header would otherwise become mostly ``\\u0000`` escapes, six
    bytes each, where base64 takes one and a third).
    """
    if _CONTROL.search(data) is None:
        try:
            record[key] = data.decode("utf-8")
            return
        except UnicodeDecodeError:
            pass
    record[key + "_b64"] = base64.b64encode(data).decode("ascii")


def get_bytes(record: Record, key: str) -> bytes | None:
    """The bytes stored by ``put_bytes`` under ``key``, or None when absent."""
    if key in record:
        value = record[key]
        if not isinstance(value, str):
            raise CaptureFormatError(f"{key!r} must be a string, not {type(value).__name__}")
        try:
            # \udcXX escapes stand for undecodable bytes, as in a command's args
            return value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise CaptureFormatError(f"{key!r} holds a lone surrogate") from None
    if key + "_b64" in record:
        try:
            return base64.b64decode(record[key + "_b64"], validate=True)
        except (ValueError, TypeError) as exc:  # binascii.Error, non-ASCII text, not text
            raise CaptureFormatError(f"{key}_b64 is not valid base64: {exc}") from None
    return None


def command_record(conn: int, direction: str, command: Command, t: float) -> Record:
    """The ``cmd`` record of ``command`` as seen on connection ``conn`` at time ``t``."""
    record: Record = {
        "type": "cmd",
        "t": t,
        "conn": conn,
        "dir": direction,
        "cmd": command.verb,
        "trid": command.trid,
        "args": list(command.args),
    }
    payload = command.payload
    if payload is not None:
        put_bytes(record, "payload", payload)
    raw = command.raw
    if raw is not None:
        line = raw if payload is None else raw[: len(raw) - len(payload)]
        if not _is_utf8(line):
            # The codec keeps non-UTF-8 bytes as lone surrogates, which JSON text cannot
            # carry: args get U+FFFD for reading, line_b64 keeps the exact bytes.
            record["args"] = [_displayable(arg) for arg in command.args]
            put_bytes(record, "line", line)
        elif line != canonical_line(command.verb, command.trid, command.args, payload):
            put_bytes(record, "line", line)
    return record


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _displayable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def record_command(record: Record) -> Command:
    """The command a ``cmd`` record describes, with ``raw`` set to its exact bytes.

    Raises:
        CaptureFormatError: the record is not a well-formed ``cmd`` record.
    """
    try:
        verb = record["cmd"]
        trid = record["trid"]
        args = tuple(record["args"])
    except (KeyError, TypeError) as exc:
        raise CaptureFormatError(f"cmd record lacks {exc}") from None
    if not isinstance(verb, str) or not (trid is None or isinstance(trid, int)):
        raise CaptureFormatError("cmd record has a malformed 'cmd' or 'trid'")
    if not all(isinstance(a, str) for a in args):
        raise CaptureFormatError("cmd record 'args' must be strings")
    payload = get_bytes(record, "payload")
    line = get_bytes(record, "line")
    if line is None:
        line = canonical_line(verb, trid, args, payload)
    raw = line if payload is None else line + payload
    return Command(verb, trid, args, payload, raw)


def rebuild(record: Record) -> bytes:
    """The exact bytes a ``cmd`` or ``raw`` record stands for (b"" for other records)."""
    kind = record.get("type")
    if kind == "cmd":
        return record_command(record).to_bytes()
    if kind == "raw":
        return get_bytes(record, "data") or b""
    return b""


def header_record(t: float, tool: str, **extra: Any) -> Record:
    """The first record of every capture."""
    return {
        "type": "header",
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "started": t,
        "tool": tool,
        **extra,
    }


def check_header(record: Record) -> None:
    """Raise ``CaptureFormatError`` unless ``record`` is a header this reader understands."""
    if record.get("type") != "header" or record.get("format") != FORMAT_NAME:
        raise CaptureFormatError(
            f"not an {FORMAT_NAME} file: the first record is not an {FORMAT_NAME} header"
        )
    version = record.get("version")
    if version != FORMAT_VERSION:
        raise CaptureFormatError(
            f"capture format version {version!r} is not supported (this reader knows "
            f"version {FORMAT_VERSION}); upgrade msmgr to read it"
        )
