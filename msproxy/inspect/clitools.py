"""msproxy/inspect/clitools: what the inspect sub-commands share (loading, errors, colour)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from msproxy.capture import CaptureFormatError, Record, read_capture
from msproxy.capture.reader import STDIN, open_lines, read_records

from .model import Capture, make_capture
from .sides import counted, same_file
from .tail import follow_lines, progress_lines, sleeper

EXIT_TROUBLE = 2


def fail(prog: str, message: str) -> int:
    """Print ``msproxy <prog>: error: <message>`` to stderr; return exit status 2."""
    print(f"msproxy {prog}: error: {message}", file=sys.stderr)
    return EXIT_TROUBLE


def capture_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    brief: str,
    description: str,
) -> argparse.ArgumentParser:
    """Add sub-command ``name`` (``brief``: its line in --help) with the ``CAPTURE`` argument."""
    parser = subparsers.add_parser(name, help=brief, description=description)
    parser.add_argument(
        "capture", metavar="CAPTURE", help="a capture file (JSON Lines); - for standard input"
    )
    return parser


def where(path: str, message: str) -> str:
    """``message`` (about the capture at ``path``) starting with the capture's name, once:
    ``path``, or ``<stdin>`` for ``-``."""
    name = "<stdin>" if path == STDIN else path
    return message if message.startswith(name) else f"{name}: {message}"


def open_capture(
    prog: str, path: str, progress: Callable[[int, int], None] | None = None
) -> Capture | int:
    """The capture at ``path`` (``-``: standard input), or the exit status after a clear
    error message; ``progress`` is told (records read, 0) as they are read."""
    try:
        records: Iterable[Record] = read_capture(path)
        if progress is not None:
            records = counted(records, progress)
        return make_capture(records, source=path)
    except CaptureFormatError as exc:
        text = str(exc)
        return fail(prog, where(path, text))
    except OSError as exc:
        return fail(prog, f"cannot read {path}: {exc.strerror or exc}")


def identical_captures(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are byte for byte the same capture file (the header is
    checked, the rest not parsed); never for standard input.

    Raises:
        OSError: a file cannot be read.
        CaptureFormatError: ``a`` does not start as a capture.
    """
    if STDIN in (a, b):
        return False
    if a == b:
        next(iter(read_capture(a)))
        return True
    return same_file(a, b)


def use_color(choice: str, stream: TextIO) -> bool:
    """Whether to colour: ``always``, ``never``, or ``auto`` (a terminal and no NO_COLOR)."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def stream_records(
    path: str,
    *,
    follow: bool = False,
    progress: TextIO | None = None,
    expand_runs: bool = True,
) -> Iterator[Record]:
    """The records of the capture at ``path`` (``-``: standard input), read as they are
    used: with ``follow``, then those written later, until interrupted; with ``progress``
    (a terminal), how far the reading is, there.

    Raises (while iterating):
        OSError: the file cannot be read.
        CaptureFormatError: it is not a capture.
    """
    with open_lines(path) as (file, source):
        lines: Iterable[bytes] = file
        if path == STDIN:  # a pipe: read as it comes (no size, nothing to follow)
            pass
        elif follow:
            lines = follow_lines(file, sleeper())
        elif progress is not None and progress.isatty():
            size = os.fstat(file.fileno()).st_size
            lines = progress_lines(file, size, progress, f"reading {path}")
        yield from read_records(lines, source, expand_runs=expand_runs)
