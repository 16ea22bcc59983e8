"""msproxy/capture/reader: stream the records of a capture file."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .format import (
    FORMAT_NAME,
    RECORD_TYPES_BY_VERSION,
    CaptureFormatError,
    Record,
    check_header,
    run_records,
)

logger = logging.getLogger(__name__)

STDIN = "-"
"""The path that means standard input."""

_raw_decode = json.JSONDecoder().raw_decode
_JSON_SPACE = " \t\n\r"


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

    ``path`` ``-`` is standard input.

    Raises:
        CaptureFormatError: the file is not a capture this reader understands.
    """
    with open_lines(path) as (lines, source):
        for _, _, record in read_located_lines(lines, source, expand_runs=expand_runs):
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
    with open_lines(path) as (lines, source):
        yield from read_located_lines(lines, source, expand_runs=expand_runs)


@contextmanager
def open_lines(path: str | os.PathLike[str]) -> Iterator[tuple[BinaryIO, str | os.PathLike[str]]]:
    """The binary file of ``path`` and the name errors give it: ``-`` is standard input
    (``<stdin>``, left open), anything else a file, closed afterwards.

    Raises:
        OSError: the file cannot be opened.
    """
    if os.fspath(path) == STDIN:
        yield sys.stdin.buffer, "<stdin>"
        return
    with open(path, "rb") as file:
        yield file, path


def read_records(
    lines: Iterable[bytes], source: str | os.PathLike[str], *, expand_runs: bool = True
) -> Iterator[Record]:
    """``read_capture`` over the lines of a capture read elsewhere (a pipe, a file still
    being written); ``source`` names it in errors. Lines keep their ``\\n``.

    Raises:
        CaptureFormatError: the lines are not a capture this reader understands.
    """
    for _, _, record in read_located_lines(lines, source, expand_runs=expand_runs):
        yield record


def read_located_lines(
    lines: Iterable[bytes], source: str | os.PathLike[str], *, expand_runs: bool = True
) -> Iterator[tuple[int, int, Record]]:
    """The reader's one core: ``read_records`` as ``read_located`` numbers them (each
    complete line is handed out as soon as it is read).

    Raises:
        CaptureFormatError: the lines are not a capture this reader understands.
    """
    path = source
    types = RECORD_TYPES_BY_VERSION[1]
    number = 0
    for line in lines:
        number += 1
        if not line.endswith(b"\n") and number > 1:  # the last line, unfinished
            # A lone first line is never "torn": a file whose only line is not JSON is
            # not a capture (a binary file, say), not a capture that lost its header.
            try:
                value = _decode(line, number, path)
            except CaptureFormatError:
                logger.warning(
                    "%s: line %d is torn (incomplete last record), skipped", path, number
                )
                return
            yield from _expand(_check(value, number, path, types), number, path, expand_runs)
            return
        record = _parse(line, number, path, types)
        if number == 1:
            types = RECORD_TYPES_BY_VERSION[record["version"]]
        yield from _expand(record, number, path, expand_runs)
    if number == 0:
        raise CaptureFormatError(f"{path}: empty file, not a capture")


def record_at(line: bytes, index: int) -> Record:
    """The record ``read_located`` said is at ``index`` of a capture ``line`` (a line it
    read before: not checked again).

    Raises:
        CaptureFormatError: the line is not what it was (the file changed meanwhile).
    """
    try:
        record = decode_line(line)
        if isinstance(record, dict) and record.get("type") == "run":
            return run_records(record)[index]
    except (ValueError, IndexError):
        raise CaptureFormatError("the capture changed while it was read") from None
    if not isinstance(record, dict) or index:
        raise CaptureFormatError("the capture changed while it was read")
    return record


def decode_line(line: bytes) -> object:
    """``json.loads(line)``, with less work on what capture lines are (UTF-8 text of a
    JSON object, ending with a newline): ``json.loads`` of bytes first guesses their
    encoding, then matches the text around the value again. Any other line (another
    encoding, a leading space, extra data, not JSON) is left to ``json.loads``, so the
    value, or the exception, is always the one it gives.

    Raises:
        ValueError, RecursionError: as ``json.loads``.
    """
    if line[:1] == b"{" and line[1:2] != b"\x00":  # json.detect_encoding: UTF-8
        try:
            text = line.decode("utf-8", "surrogatepass")  # as json.loads decodes bytes
            value, end = _raw_decode(text)
        except ValueError:
            pass
        else:
            if end == len(text) or not text[end:].strip(_JSON_SPACE):
                return value
    return json.loads(line)


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
        return decode_line(line)
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
