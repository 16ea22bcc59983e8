"""msproxy/capture/format: reading capture records back into bytes and commands.

The records are built in ``records`` (each type's fields stated there; the public
contract is ``docs/capture-format.md``); this module turns them back into what they
stand for: the exact bytes of a ``cmd``, ``raw`` or ``run`` record (``rebuild``), the
``Command`` of a ``cmd`` record, the commands of a ``run``, and the header check.
Its old names for the builders and constants (``command_record``, ``header_record``,
``put_bytes``, ``FORMAT_VERSION``, ...) still import from here.
"""

from __future__ import annotations

import base64

from msmgr.codec import Command, Direction, Framer, Limits, canonical_line

from .records import (
    FORMAT_NAME,
    FORMAT_VERSION,
    RECORD_TYPES_BY_VERSION,
    RUN_VERSION,
    VERSIONS,
    Record,
    command_record,
    header_record,
    put_bytes,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "RECORD_TYPES_BY_VERSION",
    "RUN_VERSION",
    "VERSIONS",
    "CaptureFormatError",
    "Record",
    "check_header",
    "command_record",
    "get_bytes",
    "header_record",
    "put_bytes",
    "rebuild",
    "record_command",
    "run_commands",
    "run_records",
]


class CaptureFormatError(ValueError):
    """A capture file or record that does not follow the capture format."""


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
    if type(version) is not int or version not in VERSIONS:  # (2.0 == 2, True == 1)
        known = " and ".join(str(v) for v in VERSIONS)
        raise CaptureFormatError(
            f"capture format version {version!r} is not supported (this reader knows "
            f"versions {known}); upgrade msmgr to read it"
        )
    return version
