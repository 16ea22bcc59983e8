"""msproxy/capture/records: every capture record the Python code writes, built in one place.

One ``TypedDict`` per record type states its fields, in the order they are written (the
files are compared byte for byte, so key order is part of the format), and one builder
per type makes it; ``text_of`` states once which bytes are stored as JSON text and which
in base64. A ``run`` record (format version 2) stands for the ``cmd`` records of its
commands: ``msproxy.capture.scan`` chooses them (``ordinary.stretches``), and the C
extension ``_scan`` writes the same bytes. The public contract is
``docs/capture-format.md``; ``format`` reads the records back.

Builders return ``Record`` (a plain dict), what the capture queue, the encoders and the
readers carry; the literal in each is typed by its ``TypedDict``, so mypy checks its
fields.
"""

from __future__ import annotations

import base64
from typing import Any, Literal, NotRequired, TypedDict

from msmgr.codec import Command, canonical_line

FORMAT_NAME = "msnp-capture"
FORMAT_VERSION = 2
"""The version written by default (``CaptureWriter(version=...)`` writes version 1 too)."""
RUN_VERSION = 2
"""The first version with ``run`` records (several ordinary commands in one record)."""

Record = dict[str, Any]
"""A capture record as written and read: a JSON object (the types below say which keys)."""

RECORD_TYPES_BY_VERSION = {
    1: frozenset({"header", "open", "close", "cmd", "raw", "rewrite", "error", "fault"}),
    2: frozenset({"header", "open", "close", "cmd", "raw", "rewrite", "error", "fault", "run"}),
}
"""The record types of each version this reader knows (a new type a reader could not do
without is a new version; ``fault``, which only says what a ``--fault`` rule did to the
bytes the other records hold, was added to both)."""
VERSIONS = tuple(sorted(RECORD_TYPES_BY_VERSION))


class HeaderRecord(TypedDict):
    """The first record of every capture; more keys may follow (the proxy's settings)."""

    type: Literal["header"]
    format: str  # always FORMAT_NAME
    version: int  # one of VERSIONS
    started: float  # Unix time the capture began (the clock of every ``t``)
    tool: str  # name and version of the writer


class OpenRecord(TypedDict):
    """A connection starts (written once its upstream is chosen, before its other records)."""

    type: Literal["open"]
    t: float  # when the client's connection was accepted
    conn: int  # the connection number, 1, 2, ... in accept order
    role: str | None  # "DS", "NS", "SB"; None when no upstream was chosen
    client: str  # the client's host:port
    upstream: str | None  # the server connected to, host:port, or None
    parent: int | None  # the connection whose redirect led here
    via: str | None  # "XFR" or "RNG": the redirect that led here
    ready: NotRequired[float]  # when the upstream connection was made (absent: never)


class CmdRecord(TypedDict):
    """One command, with enough to rebuild its exact bytes."""

    type: Literal["cmd"]
    t: float  # when the chunk holding it was read
    conn: int
    dir: str  # "c2s" (client to server) or "s2c"
    cmd: str  # the verb, or a three-digit error code
    trid: int | None
    args: list[str]  # without a payload's byte count; U+FFFD for non-UTF-8 bytes
    payload: NotRequired[str]  # the payload when it is text (see put_bytes)
    payload_b64: NotRequired[str]  # the payload otherwise
    line: NotRequired[str]  # the exact line, only when it is not canonical_line(...)
    line_b64: NotRequired[str]  # the same, when it is not text (always for non-UTF-8)
    redacted: NotRequired[Literal[True]]  # secrets in it were replaced


class RawRecord(TypedDict):
    """Bytes of one direction that are not a command."""

    type: Literal["raw"]
    t: float
    conn: int
    dir: str  # "c2s" (client to server) or "s2c"
    data: NotRequired[str]  # the bytes when they are text
    data_b64: NotRequired[str]  # the bytes otherwise
    reason: str  # why they are not a command
    forwarded: NotRequired[Literal[False]]  # present when they were not passed on


class RewriteRecord(TypedDict):
    """The proxy changed the address of a redirect (after the redirect's ``cmd`` record)."""

    type: Literal["rewrite"]
    t: float  # when the proxy's listener for the redirect was ready
    conn: int
    dir: Literal["s2c"]
    cmd: str  # "XFR" or "RNG"
    kind: str  # "NS" or "SB"
    original: str  # the address the server sent
    new: str  # the address the client was told
    cookie: NotRequired[str]  # the switchboard cookie, when there is one
    sessid: NotRequired[str]  # the switchboard session id (RNG)


class ErrorRecord(TypedDict):
    """Something went wrong on a connection."""

    type: Literal["error"]
    t: float
    conn: int
    dir: NotRequired[str]  # the direction concerned, when there is one
    kind: str  # "unparsed", "limit", "connect", "rewrite", ...
    message: str


class CloseRecord(TypedDict):
    """A connection ends (its last record)."""

    type: Literal["close"]
    t: float  # when the first side ended
    conn: int
    by: str  # "client", "server" or "proxy"
    reason: str
    finished: NotRequired[float]  # when the other side was done too


class FaultRecord(TypedDict):
    """A ``--fault`` rule acted on a command (or on the bytes) of one direction."""

    type: Literal["fault"]
    t: float  # when the rule acted
    conn: int
    dir: str  # "c2s" (client to server) or "s2c"
    action: str  # "delay", "drop", "reset", "stall", "rechunk" or "cut"
    rule: int  # which rule: 1 for the first given (the header's ``faults`` lists them)
    cmd: str | None  # the verb of the command it acted on (None: bytes not a command)
    offset: int  # where that command starts among the bytes of ``dir`` the proxy forwards
    size: int  # its length in bytes
    ms: NotRequired[float]  # delay: the hold applied (jitter included)
    bytes: NotRequired[int]  # rechunk: the write size
    after: NotRequired[int]  # cut: the bytes that go on before the close


class RunRecord(TypedDict):
    """Ordinary commands of one direction read in one chunk, all text or all not
    (format version 2 on; a command alone is its ``cmd`` record)."""

    type: Literal["run"]
    t: float  # when the chunk holding them was read
    conn: int
    dir: str  # "c2s" (client to server) or "s2c"
    data: NotRequired[str]  # the commands' exact bytes when they are text
    data_b64: NotRequired[str]  # the same otherwise
    count: int  # how many commands (2 or more)


CONTROL_BYTES = frozenset([*range(0x20), 0x7F]) - {0x09, 0x0A, 0x0D}
"""The bytes that make bytes not text (``text_of``): control characters but TAB, LF, CR."""
CONTROL_MARKS = bytes(0 if byte in CONTROL_BYTES else 1 for byte in range(256))
"""A ``bytes.translate`` table: 0 for ``CONTROL_BYTES``, 1 for the other bytes (then
``0 in`` finds one, ``find(0)`` where)."""


def text_of(data: bytes) -> str | None:
    """``data`` as text, or None when it is not text: text is valid UTF-8 holding none of
    ``CONTROL_BYTES``. The rule of every pair of keys ``<key>`` (JSON text) and
    ``<key>_b64`` (base64): binary data such as a P2P header would otherwise become
    mostly ``\\u0000`` escapes, six bytes each, where base64 takes one and a third."""
    if 0 in data.translate(CONTROL_MARKS):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def is_text(data: bytes) -> bool:
    """Whether ``data`` is text (``text_of``): stored as JSON text, not in base64."""
    return text_of(data) is not None


def _b64(data: bytes | memoryview) -> str:
    return base64.b64encode(data).decode("ascii")


class _Data(TypedDict, total=False):
    """The bytes of a ``run`` record: one of these keys (``text_of``)."""

    data: str
    data_b64: str


def _data(data: bytes | memoryview, text: str | None) -> _Data:
    """``data`` as the key ``data`` (its text, ``text_of(data)``) or ``data_b64``."""
    return {"data": text} if text is not None else {"data_b64": _b64(data)}


def put_bytes(record: Record, key: str, data: bytes) -> None:
    """Store ``data`` under ``key`` when it is text (``text_of``), else in base64 under
    ``key + "_b64"``."""
    text = text_of(data)
    if text is not None:
        record[key] = text
    else:
        record[key + "_b64"] = _b64(data)


def header_record(t: float, tool: str, *, version: int = FORMAT_VERSION, **extra: Any) -> Record:
    """The first record of every capture (``version``: one of ``VERSIONS``)."""
    if version not in VERSIONS:
        raise ValueError(f"capture format version {version!r} is not one of {VERSIONS}")
    record: HeaderRecord = {
        "type": "header",
        "format": FORMAT_NAME,
        "version": version,
        "started": t,
        "tool": tool,
    }
    return {**record, **extra}


def open_record(
    conn: int,
    t: float,
    *,
    role: str | None,
    client: str,
    upstream: str | None,
    parent: int | None,
    via: str | None,
    ready: float | None = None,
) -> Record:
    """The ``open`` record of connection ``conn`` accepted at ``t`` (``ready``: None when
    no upstream connection was made)."""
    record: OpenRecord = {
        "type": "open",
        "t": t,
        "conn": conn,
        "role": role,
        "client": client,
        "upstream": upstream,
        "parent": parent,
        "via": via,
    }
    if ready is not None:
        record["ready"] = ready
    return record  # type: ignore[return-value]  # (a TypedDict is not a dict[str, Any])


def command_record(conn: int, direction: str, command: Command, t: float) -> Record:
    """The ``cmd`` record of ``command`` as seen on connection ``conn`` at time ``t``."""
    record: CmdRecord = {
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
        text = text_of(payload)
        if text is not None:
            record["payload"] = text
        else:
            record["payload_b64"] = _b64(payload)
    raw = command.raw
    if raw is not None:
        line = raw if payload is None else raw[: len(raw) - len(payload)]
        if not _is_utf8(line):
            # The codec keeps non-UTF-8 bytes as lone surrogates, which JSON text cannot
            # carry: args get U+FFFD for reading, line_b64 keeps the exact bytes.
            record["args"] = [_displayable(arg) for arg in command.args]
            record["line_b64"] = _b64(line)
        elif line != canonical_line(command.verb, command.trid, command.args, payload):
            text = text_of(line)
            if text is not None:
                record["line"] = text
            else:
                record["line_b64"] = _b64(line)
    return record  # type: ignore[return-value]


def redacted_command_record(conn: int, direction: str, command: Command, t: float) -> Record:
    """The ``cmd`` record of ``command``, a copy of a command with its secrets replaced."""
    record = command_record(conn, direction, command, t)
    record["redacted"] = True
    return record


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _displayable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def raw_record(
    conn: int, direction: str, data: bytes, reason: str, t: float, *, forwarded: bool = True
) -> Record:
    """The ``raw`` record of bytes of ``direction`` that are not a command (``reason`` why)."""
    record: RawRecord
    text = text_of(data)
    if text is not None:
        record = {
            "type": "raw",
            "t": t,
            "conn": conn,
            "dir": direction,
            "data": text,
            "reason": reason,
        }
    else:
        b64 = _b64(data)
        record = {
            "type": "raw",
            "t": t,
            "conn": conn,
            "dir": direction,
            "data_b64": b64,
            "reason": reason,
        }
    if not forwarded:
        record["forwarded"] = False
    return record  # type: ignore[return-value]


def run_record(
    conn: int,
    direction: str,
    data: bytes | memoryview,
    count: int,
    t: float,
    *,
    text: bool | None = None,
) -> Record:
    """The ``run`` record of ``count`` ordinary commands of ``direction``, their bytes
    ``data``, read in one chunk at ``t`` (format version 2 on). ``text``: whether ``data``
    is text (``text_of``), when the caller knows it already; None: decided here."""
    if text is None:
        decoded = text_of(bytes(data))
    elif text:
        decoded = str(data, "utf-8")
    else:
        decoded = None
    record: RunRecord = {
        "type": "run",
        "t": t,
        "conn": conn,
        "dir": direction,
        **_data(data, decoded),
        "count": count,
    }
    return record  # type: ignore[return-value]


def rewrite_record(
    conn: int,
    t: float,
    *,
    cmd: str,
    kind: str,
    original: str,
    new: str,
    cookie: str | None = None,
    sessid: str | None = None,
) -> Record:
    """The ``rewrite`` record of a redirect whose address ``original`` became ``new``."""
    record: RewriteRecord = {
        "type": "rewrite",
        "t": t,
        "conn": conn,
        "dir": "s2c",
        "cmd": cmd,
        "kind": kind,
        "original": original,
        "new": new,
    }
    if cookie is not None:
        record["cookie"] = cookie
    if sessid is not None:
        record["sessid"] = sessid
    return record  # type: ignore[return-value]


def fault_record(
    conn: int,
    direction: str,
    t: float,
    *,
    action: str,
    rule: int,
    cmd: str | None,
    offset: int,
    size: int,
    **parameter: float,
) -> Record:
    """The ``fault`` record of rule number ``rule`` acting on ``size`` bytes at ``offset``
    of ``direction`` (``parameter``: ``ms``, ``bytes`` or ``after``, by action)."""
    record: FaultRecord = {
        "type": "fault",
        "t": t,
        "conn": conn,
        "dir": direction,
        "action": action,
        "rule": rule,
        "cmd": cmd,
        "offset": offset,
        "size": size,
    }
    return {**record, **parameter}


def error_record(
    conn: int, kind: str, message: str, t: float, direction: str | None = None
) -> Record:
    """An ``error`` record of connection ``conn`` (``dir`` only when one direction is meant)."""
    record: ErrorRecord
    if direction is None:
        record = {"type": "error", "t": t, "conn": conn, "kind": kind, "message": message}
    else:
        record = {
            "type": "error",
            "t": t,
            "conn": conn,
            "dir": direction,
            "kind": kind,
            "message": message,
        }
    return record  # type: ignore[return-value]


def close_record(
    conn: int, by: str, reason: str, t: float, *, finished: float | None = None
) -> Record:
    """The ``close`` record of connection ``conn``, ended first by ``by`` at ``t``."""
    record: CloseRecord = {"type": "close", "t": t, "conn": conn, "by": by, "reason": reason}
    if finished is not None:
        record["finished"] = finished
    return record  # type: ignore[return-value]
