"""msproxy/capture/reader: stream the records of a capture file."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

from .format import FORMAT_NAME, RECORD_TYPES, CaptureFormatError, Record, check_header

logger = logging.getLogger(__name__)


def read_capture(path: str | os.PathLike[str]) -> Iterator[Record]:
    """Yield every record of the capture at ``path``, the header first.

    A torn last line (a writer killed mid-write: no ``\n`` and not JSON) is skipped with a
    warning. A corrupt line anywhere else, a last line that is JSON but not a valid
    record, a first line that is not JSON (a binary file), an unknown format or version,
    is an error.

    Raises:
        CaptureFormatError: the file is not a capture this reader understands.
    """
    with open(path, "rb") as file:
        previous: bytes | None = None
        number = 0
        for line in file:
            if previous is not None:
                number += 1
                yield _parse(previous, number, path)
            previous = line
        if previous is None:
            raise CaptureFormatError(f"{path}: empty file, not a capture")
        number += 1
        if previous.endswith(b"\n") or number == 1:
            # A lone first line is never "torn": a file whose only line is not JSON is
            # not a capture (a binary file, say), not a capture that lost its header.
            yield _parse(previous, number, path)
            return
        try:
            value = _decode(previous, number, path)
        except CaptureFormatError:
            logger.warning("%s: line %d is torn (incomplete last record), skipped", path, number)
            return
        yield _check(value, number, path)


def _parse(line: bytes, number: int, path: str | os.PathLike[str]) -> Record:
    return _check(_decode(line, number, path), number, path)


def _decode(line: bytes, number: int, path: str | os.PathLike[str]) -> object:
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        # ValueError: not UTF-8, not JSON, an integer of too many digits;
        # RecursionError: arrays/objects nested too deep
        if number == 1:
            raise CaptureFormatError(
                f"{path}: not an {FORMAT_NAME} file (its first line is not JSON)"
            ) from None
        raise CaptureFormatError(f"{path}: line {number} is not JSON: {exc}") from None


def _check(record: object, number: int, path: str | os.PathLike[str]) -> Record:
    if not isinstance(record, dict):
        raise CaptureFormatError(f"{path}: line {number} is not a JSON object")
    if number == 1:
        check_header(record)
        return record
    kind = record.get("type")
    if not isinstance(kind, str) or kind not in RECORD_TYPES:
        raise CaptureFormatError(f"{path}: line {number} has unknown type {kind!r}")
    return record
