"""``msproxy summary``: tables about a capture (connections, verbs, latency, errors)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from msproxy.capture import CaptureFormatError
from msproxy.inspect.clitools import capture_parser, fail, open_capture
from msproxy.inspect.summary import check_format, format_tables, summarize


def register(subparsers: Any) -> None:
    """Add the ``summary`` sub-command."""
    parser = capture_parser(
        subparsers,
        "summary",
        brief="tables: connections, commands, TrID latency, errors",
        description="Summarise a capture: per connection, per verb, TrID round trips, errors.",
    )
    parser.add_argument(
        "--format",
        default="simple",
        metavar="FMT",
        help="a tabulate table format (simple, github, plain, ...); default: simple",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary; 0 on success, 2 on a bad capture or an unknown ``--format``."""
    try:
        check_format(args.format)
    except ValueError as exc:
        return fail("summary", f"--format: {exc}")
    capture = open_capture("summary", args.capture)
    if isinstance(capture, int):
        return capture
    try:
        text = format_tables(summarize(capture), args.format)
    except CaptureFormatError as exc:
        return fail("summary", f"{args.capture}: {exc}")
    sys.stdout.write(text)
    return 0
