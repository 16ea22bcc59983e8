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

from msmgr.codec import Command, Direction, Framer, Limits, canonical_line

FORMAT_NAME = "msnp-capture"
FORMAT_VERSION = 2
"""The version written by default (``CaptureWriter(version=...)`` writes version 1 too)."""
RUN_VERSION = 2
"""The first version with ``run`` records (several ordinary commands in one record)."""

Record = dict[str, Any]

RECORD_TYPES_BY_VERSION = {
    1: frozenset({"header", "open", "close", "cmd", "raw", "rewrite", "error"}),
    2: frozenset({"header", "open", "close", "cmd", "raw", "rewrite", "error", "run"}),
}
"""The record types of each version this reader knows (a new type is a new version)."""
VERSIONS = tuple(sorted(RECORD_TYPES_BY_VERSION))


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


def run_commands(record: Record) -> list[Command]:
    """The commands of a ``run`` record (format version 2), framed again from its bytes.

    A run holds ``count`` whole commands of one direction, each an ordinary one (no
    ``VER``, no numeric error, no redirect, no secret): they frame the same whatever the
    connection's state, so a fresh framer of that direction gives them back exactly.

    Raises:
        CaptureFormatError: the record is malformed, or its bytes are not exactly
            ``count`` commands.
    """
    direction = record.get("dir")
    count = record.get("count")
    if direction not in ("c2s", "s2c"):
        raise CaptureFormatError(f"run record has a malformed 'dir': {direction!r}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise CaptureFormatError(f"run record has a malformed 'count': {count!r}")
    data = get_bytes(record, "data")
    if data is None:
        raise CaptureFormatError("run record has neither 'data' nor 'data_b64'")
    # Limits as large as the run: the proxy's own limits may have been above the defaults.
    size = max(len(data), 1)
    limits = Limits(max_line=size, max_payload=size)
    framer = Framer(Direction(direction), strict=False, limits=limits)
    events = framer.feed(data)
    commands = [event for event in events if type(event) is Command]
    if len(commands) != len(events) or len(commands) != count or framer.pending:
        raise CaptureFormatError(
            f"run record of count {count} holds {len(commands)} commands"
            f" and {len(events) - len(commands)} other events"
            + (f", and {framer.pending} bytes of an incomplete one" if framer.pending else "")
        )
    return commands


def run_records(record: Record) -> list[Record]:
    """The ``cmd`` records a ``run`` record stands for (each with the run's time).

    Raises:
        CaptureFormatError: as ``run_commands``, or a malformed ``t`` or ``conn``.
    """
    t, conn = record.get("t"), record.get("conn")
    if (
        not isinstance(t, int | float)
        or not isinstance(conn, int)
        or isinstance(t, bool)
        or isinstance(conn, bool)
    ):
        raise CaptureFormatError("run record has a malformed 't' or 'conn'")
    commands = run_commands(record)  # checks "dir" too
    return [command_record(conn, record["dir"], command, t) for command in commands]


def rebuild(record: Record) -> bytes:
    """The exact bytes a ``cmd``, ``run`` or ``raw`` record stands for (b"" for others)."""
    kind = record.get("type")
    if kind == "cmd":
        return record_command(record).to_bytes()
    if kind == "raw":
        return get_bytes(record, "data") or b""
    if kind == "run":
        run_commands(record)  # checks that the bytes are the commands it says
        return get_bytes(record, "data") or b""
    return b""


def header_record(t: float, tool: str, *, version: int = FORMAT_VERSION, **extra: Any) -> Record:
    """The first record of every capture (``version``: one of ``VERSIONS``)."""
    if version not in VERSIONS:
        raise ValueError(f"capture format version {version!r} is not one of {VERSIONS}")
    return {
        "type": "header",
        "format": FORMAT_NAME,
        "version": version,
        "started": t,
        "tool": tool,
        **extra,
    }


def check_header(record: Record) -> int:
    """The version of ``record``, a header this reader understands.

    Raises:
        CaptureFormatError: ``record`` is not such a header.
    """
    if record.get("type") != "header" or record.get("format") != FORMAT_NAME:
        raise CaptureFormatError(
            f"not an {FORMAT_NAME} file: the first record is not an {FORMAT_NAME} header"
        )
    version = record.get("version")
    if version not in VERSIONS or isinstance(version, bool):
        known = " and ".join(str(v) for v in VERSIONS)
        raise CaptureFormatError(
            f"capture format version {version!r} is not supported (this reader knows "
            f"versions {known}); upgrade msmgr to read it"
        )
    assert isinstance(version, int)
    return version
