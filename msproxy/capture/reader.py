"""msproxy/capture/reader: stream the records of a capture file."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

from .format import (
    FORMAT_NAME,
    RECORD_TYPES_BY_VERSION,
    CaptureFormatError,
    Record,
    check_header,
    run_records,
)

logger = logging.getLogger(__name__)


def read_capture(path: str | os.PathLike[str], *, expand_runs: bool = True) -> Iterator[Record]:
    """Yield every record of the capture at ``path``, the header first.

    (``read_located`` yields the same records with where each one is in the file.)

    A ``run`` record (format version 2: several ordinary commands of one direction in
    one record) is yielded as the ``cmd`` records of its commands, each with the run's
    time, unless ``expand_runs`` is False; so every reader sees the same records whichever
    version the capture was written in.

    A torn last line (a writer killed mid-write: no ``\\n`` and not JSON) is skipped with
    a warning. A corrupt line anywhere else, a last line that is JSON but not a valid
    record, a first line that is not JSON (a binary file), an unknown format or version,
    a record type its version does not have, a ``run`` that is not the commands it says,
    is an error.

    Raises:
        CaptureFormatError: the file is not a capture this reader understands.
    """
    for _, _, record in read_located(path, expand_runs=expand_runs):
        yield record


def read_located(
    path: str | os.PathLike[str], *, expand_runs: bool = True
) -> Iterator[tuple[int, int, Record]]:
    """``read_capture``'s records as (line number from 1, index within the line, record):
    the index counts the commands of an expanded ``run`` (0 for any other record), so a
    reader can keep where a record is instead of the record (``record_at``).

    Raises:
        CaptureFormatError: as ``read_capture``.
    """
    types = RECORD_TYPES_BY_VERSION[1]
    with open(path, "rb") as file:
        previous: bytes | None = None
        number = 0
        for line in file:
            if previous is not None:
                number += 1
                record = _parse(previous, number, path, types)
                if number == 1:
                    types = RECORD_TYPES_BY_VERSION[record["version"]]
                yield from _expand(record, number, path, expand_runs)
            previous = line
        if previous is None:
            raise CaptureFormatError(f"{path}: empty file, not a capture")
        number += 1
        if previous.endswith(b"\n") or number == 1:
            # A lone first line is never "torn": a file whose only line is not JSON is
            # not a capture (a binary file, say), not a capture that lost its header.
            yield from _expand(_parse(previous, number, path, types), number, path, expand_runs)
            return
        try:
            value = _decode(previous, number, path)
        except CaptureFormatError:
            logger.warning("%s: line %d is torn (incomplete last record), skipped", path, number)
            return
        yield from _expand(_check(value, number, path, types), number, path, expand_runs)


def record_at(line: bytes, index: int) -> Record:
    """The record ``read_located`` said is at ``index`` of a capture ``line`` (a line it
    read before: not checked again).

    Raises:
        CaptureFormatError: the line is not what it was (the file changed meanwhile).
    """
    try:
        record = json.loads(line)
        if isinstance(record, dict) and record.get("type") == "run":
            return run_records(record)[index]
    except (ValueError, IndexError):
        raise CaptureFormatError("the capture changed while it was read") from None
    if not isinstance(record, dict) or index:
        raise CaptureFormatError("the capture changed while it was read")
    return record


def _expand(
    record: Record, number: int, path: str | os.PathLike[str], expand_runs: bool
) -> Iterator[tuple[int, int, Record]]:
    if record["type"] != "run" or not expand_runs:
        yield number, 0, record
        return
    try:
        records = run_records(record)
    except CaptureFormatError as exc:
        raise CaptureFormatError(f"{path}: line {number}: {exc}") from None
    for index, expanded in enumerate(records):
        yield number, index, expanded


def _parse(line: bytes, number: int, path: str | os.PathLike[str], types: frozenset[str]) -> Record:
    return _check(_decode(line, number, path), number, path, types)


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


def _check(
    record: object, number: int, path: str | os.PathLike[str], types: frozenset[str]
) -> Record:
    if not isinstance(record, dict):
        raise CaptureFormatError(f"{path}: line {number} is not a JSON object")
    if number == 1:
        check_header(record)
        return record
    kind = record.get("type")
    if not isinstance(kind, str) or kind not in types:
        later = [v for v, known in RECORD_TYPES_BY_VERSION.items() if str(kind) in known]
        why = f" (a record of format version {later[0]}, not of this file's)" if later else ""
        raise CaptureFormatError(f"{path}: line {number} has unknown type {kind!r}{why}")
    return record
