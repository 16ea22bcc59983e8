"""``msproxy show``: print a capture, one readable line per record."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from msproxy.capture import CaptureFormatError, encode_record
from msproxy.inspect.clitools import capture_parser, fail, open_capture, use_color
from msproxy.inspect.filters import DIRECTIONS, RecordFilter, parse_conn
from msproxy.inspect.model import Capture
from msproxy.inspect.show import ShowOptions, show_lines
from msproxy.inspect.streams import rebuild_direction

NOTE_NAMES = 20  # how many connection names a note lists at most


def register(subparsers: Any) -> None:
    """Add the ``show`` sub-command."""
    parser = capture_parser(
        subparsers,
        "show",
        brief="print a capture, one line per command",
        description=(
            "Print a capture: time, connection, direction and command line per record "
            "(--json: the records themselves; --bytes: one direction's exact bytes). "
            "CAPTURE '-' reads standard input."
        ),
    )
    parser.add_argument(
        "--conn",
        metavar="N[,N]",
        action="append",
        help="only these connections: ids (5) or names as shown (SB#5, #7)",
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
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--bytes",
        action="store_true",
        help="write exactly the bytes of one direction (--conn N --dir c2s|s2c) as the "
        "sender sent them (secrets as the capture keeps them), binary, to standard output",
    )
    output.add_argument(
        "--json", action="store_true", help="write the selected records as JSON Lines"
    )
    parser.add_argument(
        "--as-received",
        action="store_true",
        help="with --bytes: as the receiver got them (the recorded redirect rewrites "
        "applied, data the proxy did not forward left out)",
    )
    parser.set_defaults(run=run)


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [item for value in values for item in value.split(",") if item]


def _check_conns(path: str, capture: Capture, conns: list[tuple[int, str | None]]) -> None:
    """A one-line note on stderr for each ``--conn`` the capture does not have (the filter
    then shows nothing for it; not an error, as with ``grep``)."""
    existing = capture.connections
    for conn, role in conns:
        known = existing.get(conn)
        if known is None:
            names = [c.name for c in existing.values()]
            ids = ", ".join(names[:NOTE_NAMES]) or "none"
            if len(names) > NOTE_NAMES:
                ids += f", ... ({len(names)} in all)"
            print(
                f"msproxy show: note: {path} has no connection {conn} (its connections: {ids})",
                file=sys.stderr,
            )
        elif role is not None and (known.role or "") != role:
            print(
                f"msproxy show: note: connection {conn} of {path} is {known.name}, "
                f"not {role}#{conn}",
                file=sys.stderr,
            )


def _write_binary(data: bytes) -> int:
    """Write ``data`` to standard output as it is; 0 (a closed pipe is not an error)."""
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def run(args: argparse.Namespace) -> int:
    """Print the capture; 0 on success, 2 on a bad capture or bad options."""
    try:
        names = _split(args.conn)
        conns = [parse_conn(name) for name in names] if names is not None else None
        if conns == []:
            raise ValueError("--conn needs at least one connection id or name")
        keep = RecordFilter.build(
            conns=[conn for conn, _ in conns] if conns is not None else None,
            verbs=_split(args.cmd),
            direction=args.dir,
            pattern=args.grep,
        )
    except ValueError as exc:
        return fail("show", str(exc))
    if args.bytes and (len(conns or ()) != 1 or args.dir is None or args.cmd or args.grep):
        return fail("show", "--bytes takes one --conn N and --dir c2s|s2c, and no other filter")
    if args.as_received and not args.bytes:
        return fail("show", "--as-received goes with --bytes")
    capture = open_capture("show", args.capture)
    if isinstance(capture, int):
        return capture
    if conns is not None:
        _check_conns(args.capture, capture, conns)
    try:
        if args.bytes:
            assert conns is not None  # checked above
            data = rebuild_direction(
                capture.records, conns[0][0], args.dir, as_received=args.as_received
            )
            return _write_binary(data)
        if args.json:
            return _write_binary(
                b"".join(encode_record(record) for record in capture.records if keep(record))
            )
    except CaptureFormatError as exc:
        return fail("show", f"{args.capture}: {exc}")
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
