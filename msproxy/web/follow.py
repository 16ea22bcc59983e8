"""msproxy/web/follow: read a capture file as it grows, as ``tail -f`` does.

The proxy's writer appends whole lines only, so a follower takes every complete line
written since its last read (opening the file for each read) and leaves a partial one
for next time. ``run`` records are
given as the ``cmd`` records of their commands, as ``read_capture`` gives them. With
``redact``, secrets still in a record (a capture written with ``--no-redact``) are
replaced as the proxy would have replaced them. The web view follows the capture of
``msproxy run --web`` this way: the proxy's code knows nothing of the browser, so its
relaying never waits for one.
"""

from __future__ import annotations

import json
import os
import sys

from msmgr.codec import Direction
from msproxy.capture import CaptureFormatError, Record, record_command, run_records
from msproxy.capture.format import check_header
from msproxy.capture.records import redacted_command_record
from msproxy.proxy.redact import SECRET_VERBS, Redactor

READ_SIZE = 1024 * 1024
"""Bytes read at most per ``read`` call (a big capture is taken in over several)."""


class CaptureFollower:
    """The records of one capture file, handed out as they are written."""

    def __init__(self, path: str | os.PathLike[str], *, redact: bool = True) -> None:
        self.path = os.fspath(path)
        self.header: Record | None = None
        self._offset = 0
        self._partial = b""
        self._number = 0
        self._redactor = Redactor() if redact else None

    def read(self, limit: int = READ_SIZE) -> list[Record]:
        """The records whose lines were completed since the last call (the header first).

        Raises:
            OSError: the file cannot be read.
            CaptureFormatError: a line that is not a capture record.
        """
        with open(self.path, "rb") as file:
            file.seek(self._offset)
            chunk = file.read(limit)
        self._offset += len(chunk)
        data = self._partial + chunk
        end = data.rfind(b"\n") + 1
        self._partial = data[end:]
        records: list[Record] = []
        for line in data[:end].splitlines():
            self._number += 1
            records.extend(self._parse(line))
        return records

    def _parse(self, line: bytes) -> list[Record]:
        where = f"{self.path}: line {self._number}"
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise CaptureFormatError(f"{where} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise CaptureFormatError(f"{where} is not a JSON object")
        if self.header is None:
            check_header(value)
            self.header = value
            return [value]
        try:
            records = run_records(value) if value.get("type") == "run" else [value]
        except CaptureFormatError as exc:
            raise CaptureFormatError(f"{where}: {exc}") from None
        if self._redactor is not None:
            records = [self._redact(record) for record in records]
        for record in records:
            _intern(record)
        return records

    def _redact(self, record: Record) -> Record:
        if (
            record.get("type") != "cmd"
            or record.get("redacted")
            or record.get("cmd") not in SECRET_VERBS
            or not _may_hold_secrets(record)
        ):
            return record
        assert self._redactor is not None
        try:
            command = record_command(record)
            direction = Direction(record["dir"])
        except (CaptureFormatError, ValueError, KeyError):
            return record
        redacted = self._redactor.redact(direction, command)
        if redacted is None:
            return record
        return redacted_command_record(record["conn"], record["dir"], redacted, record["t"])


def _intern(record: Record) -> None:
    """One string object for each record type, direction and verb, not one per record
    (the records stay in memory: 15% of what a command's record takes)."""
    for key in ("type", "dir", "cmd"):
        value = record.get(key)
        if type(value) is str:
            record[key] = sys.intern(value)


def _may_hold_secrets(record: Record) -> bool:
    """False for the records of a secret verb that ``Redactor.redact`` leaves alone
    anyway (a cheap look before building the command): a server's ``USR``, a client's
    ``MSG``, a ``MSG`` that is not the ``Hotmail Hotmail`` profile."""
    if record.get("cmd") == "USR":
        return bool(record.get("dir") == "c2s")
    args = record.get("args")
    if record.get("dir") != "s2c" or not isinstance(args, list):
        return False
    return [arg for arg in args if arg][:2] == ["Hotmail", "Hotmail"]
