"""``msproxy summary``: tables about a capture (connections, verbs, latency, errors)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from msproxy.capture import CaptureFormatError, read_capture
from msproxy.capture.reader import STDIN
from msproxy.inspect.clitools import capture_parser, fail, stream_records, where
from msproxy.inspect.summary import check_format, format_tables, summarize_records, tables_json
from msproxy.view import filterlang
from msproxy.view.filterlang import FilterError


def register(subparsers: Any) -> None:
    """Add the ``summary`` sub-command."""
    parser = capture_parser(
        subparsers,
        "summary",
        brief="tables: connections, commands, TrID latency, errors",
        description="Summarise a capture: per connection, per verb, TrID round trips, errors. "
        "The capture is read once, as a stream (progress on a terminal).",
    )
    parser.add_argument(
        "--format",
        default="simple",
        metavar="FMT",
        help="a tabulate table format (simple, github, plain, ...); default: simple",
    )
    parser.add_argument(
        "--filter",
        metavar="EXPR",
        help="summarise only the records the expression selects (the filter language of "
        "msproxy show)",
    )
    parser.add_argument(
        "--json", action="store_true", help="the tables as one JSON object (for jq)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary; 0 on success, 2 on a bad capture, filter or ``--format``."""
    try:
        check_format(args.format)
    except ValueError as exc:
        return fail("summary", f"--format: {exc}")
    try:
        keep = filterlang.compile(args.filter) if args.filter is not None else None
    except FilterError as exc:
        return fail("summary", f"--filter: {exc}")
    try:
        if keep is not None and keep.uses_sessions() and args.capture != STDIN:
            keep.prime(read_capture(args.capture))
        summary = summarize_records(stream_records(args.capture, progress=sys.stderr), keep)
    except CaptureFormatError as exc:
        text = str(exc)
        return fail("summary", where(args.capture, text))
    except OSError as exc:
        return fail("summary", f"cannot read {args.capture}: {exc.strerror or exc}")
    tables = summary.tables()
    sys.stdout.write(tables_json(tables) if args.json else format_tables(tables, args.format))
    return 0
