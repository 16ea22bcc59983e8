"""``msproxy show``: print a capture, one readable line per record."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from msproxy.capture import CaptureFormatError
from msproxy.inspect.clitools import capture_parser, fail, open_capture, use_color
from msproxy.inspect.filters import DIRECTIONS, RecordFilter
from msproxy.inspect.show import ShowOptions, show_lines


def register(subparsers: Any) -> None:
    """Add the ``show`` sub-command."""
    parser = capture_parser(
        subparsers,
        "show",
        brief="print a capture, one line per command",
        description="Print a capture: time, connection, direction and command line per record.",
    )
    parser.add_argument(
        "--conn", metavar="N[,N]", action="append", help="only these connection ids"
    )
    parser.add_argument("--cmd", metavar="VERB[,VERB]", action="append", help="only these verbs")
    parser.add_argument("--dir", choices=DIRECTIONS, help="only one direction")
    parser.add_argument("--grep", metavar="REGEX", help="only records whose text matches")
    parser.add_argument("--payload", action="store_true", help="print payloads (text or hex)")
    parser.add_argument(
        "--raw", action="store_true", help="print exact line bytes (escaped) and raw data dumps"
    )
    parser.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="ANSI colour"
    )
    parser.set_defaults(run=run)


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [item for value in values for item in value.split(",") if item]


def run(args: argparse.Namespace) -> int:
    """Print the capture; 0 on success, 2 on a bad capture or bad options."""
    try:
        conns = _split(args.conn)
        if conns is not None and not all(c.isdigit() for c in conns):
            raise ValueError(f"--conn takes connection ids (numbers), not {','.join(conns)!r}")
        keep = RecordFilter.build(
            conns=[int(c) for c in conns] if conns is not None else None,
            verbs=_split(args.cmd),
            direction=args.dir,
            pattern=args.grep,
        )
    except ValueError as exc:
        return fail("show", str(exc))
    capture = open_capture("show", args.capture)
    if isinstance(capture, int):
        return capture
    options = ShowOptions(
        payload=args.payload, raw=args.raw, color=use_color(args.color, sys.stdout)
    )
    try:
        for line in show_lines(capture, keep, options):
            print(line)
    except CaptureFormatError as exc:
        return fail("show", f"{args.capture}: {exc}")
    except BrokenPipeError:  # `msproxy show x | head`: stop quietly, like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
