"""``msproxy convert``: write a capture in another format version (e.g. version 1 for
tools that only read one ``cmd`` record per command)."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Iterator
from typing import Any

from msproxy import __version__
from msproxy.capture import (
    VERSIONS,
    CaptureFormatError,
    CaptureWriter,
    Record,
    encode_record,
    encode_records,
    header_record,
)
from msproxy.capture.reader import STDIN
from msproxy.inspect.clitools import capture_parser, fail, stream_records

BATCH = 10_000
"""Records written per write (the capture is streamed, never held whole in memory)."""


def register(subparsers: Any) -> None:
    """Add the ``convert`` sub-command."""
    parser = capture_parser(
        subparsers,
        "convert",
        brief="write a capture in format version 1 (one cmd record per command) or 2",
        description=(
            "Write CAPTURE to OUTPUT (a new file, mode 0600) in capture format version "
            "--capture-version. "
            "Version 1 has one cmd record per command: the run records of version 2 become "
            "the cmd records of their commands, which is what msproxy's own tools read "
            "anyway. Version 2 copies the records as they are. CAPTURE '-' reads standard "
            "input."
        ),
    )
    parser.add_argument(
        "output",
        metavar="OUTPUT",
        help="the file to create (must not exist); - for standard output",
    )
    parser.add_argument(
        "--capture-version",
        type=int,
        choices=VERSIONS,
        default=1,
        dest="target",
        help="the format version to write (default 1)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Convert; 0 on success, 2 on a bad capture or an output that cannot be created."""
    try:
        records = stream_records(args.capture, progress=sys.stderr, expand_runs=args.target < 2)
        header = next(records)
    except CaptureFormatError as exc:
        return fail("convert", str(exc))
    except OSError as exc:
        return fail("convert", f"cannot read {args.capture}: {exc.strerror or exc}")
    extra = {k: v for k, v in header.items() if k not in ("type", "format", "version")}
    extra.setdefault("tool", "unknown")
    extra.setdefault("started", 0.0)
    extra["converted"] = {"from_version": header["version"], "by": f"msproxy {__version__}"}
    if args.output == STDIN:  # "-" as the output: standard output
        return _to_stdout(args, records, extra)
    try:
        writer = CaptureWriter(args.output, version=args.target, **extra)
    except OSError as exc:
        return fail("convert", f"cannot create {args.output}: {exc.strerror or exc}")
    with writer:
        try:
            while batch := list(itertools.islice(records, BATCH)):
                writer.write_many(batch)
        except (CaptureFormatError, OSError) as exc:
            writer.close()
            os.unlink(args.output)  # never leave half a conversion behind
            message = str(exc) if isinstance(exc, CaptureFormatError) else exc.strerror
            return fail("convert", f"{message or exc} ({args.output} not written)")
    return 0


def _to_stdout(args: argparse.Namespace, records: Iterator[Record], extra: dict[str, Any]) -> int:
    """Convert to standard output (whatever was written stays written on an error)."""
    out = sys.stdout.buffer
    try:
        fields = dict(extra)
        started, tool = fields.pop("started"), fields.pop("tool")
        out.write(encode_record(header_record(started, tool, version=args.target, **fields)))
        while batch := list(itertools.islice(records, BATCH)):
            out.write(encode_records(batch, args.target))
        out.flush()
    except BrokenPipeError:
        return 0
    except (CaptureFormatError, OSError) as exc:
        message = str(exc) if isinstance(exc, CaptureFormatError) else exc.strerror
        return fail("convert", f"{message or exc} (the output is incomplete)")
    return 0
