"""msproxy/inspect/clitools: what the inspect sub-commands share (loading, errors, colour)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TextIO

from msproxy.capture import CaptureFormatError, Record
from msproxy.capture.reader import STDIN, read_records

from .model import Capture, load_capture
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


def open_capture(prog: str, path: str) -> Capture | int:
    """The capture at ``path``, or the exit status after a clear error message."""
    try:
        return load_capture(path)
    except CaptureFormatError as exc:
        text = str(exc)
        return fail(prog, text if text.startswith(path) else f"{path}: {text}")
    except OSError as exc:
        return fail(prog, f"cannot read {path}: {exc.strerror or exc}")


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
    if path == STDIN:
        yield from read_records(sys.stdin.buffer, "<stdin>", expand_runs=expand_runs)
        return
    with open(path, "rb") as file:
        lines: Iterable[bytes] = file
        if follow:
            lines = follow_lines(file, sleeper())
        elif progress is not None and progress.isatty():
            size = os.fstat(file.fileno()).st_size
            lines = progress_lines(file, size, progress, f"reading {path}")
        yield from read_records(lines, path, expand_runs=expand_runs)
