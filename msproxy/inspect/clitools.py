"""msproxy/inspect/clitools: what the inspect sub-commands share (loading, errors, colour)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from msproxy.capture import CaptureFormatError

from .model import Capture, load_capture

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
    parser.add_argument("capture", metavar="CAPTURE", help="a capture file (JSON Lines)")
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
