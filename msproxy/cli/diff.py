"""``msproxy diff``: compare two captures per connection, ignoring volatile fields."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from msproxy.capture import CaptureFormatError
from msproxy.capture.reader import STDIN
from msproxy.inspect.clitools import fail, identical_captures, open_capture, where
from msproxy.inspect.diff import (
    DEFAULT_REORDER_WINDOW,
    ROLES,
    Progress,
    diff_json,
    diff_sides,
    format_diff,
    parse_ignore_cmd,
    parse_roles,
)
from msproxy.inspect.normalize import IGNORE_RULES, parse_ignore
from msproxy.inspect.sides import KeyCache, Side, load_side, side_of


def register(subparsers: Any) -> None:
    """Add the ``diff`` sub-command."""
    parser = subparsers.add_parser(
        "diff",
        help="compare two captures (exit 0 equal, 1 different, 2 trouble)",
        description=(
            "Compare two captures connection by connection, paired by session (the "
            "account logged in), then role, then order (alice's second SB with alice's "
            "second SB: pair 'alice@example.com SB 2' may be SB#4 in A and SB#6 in B; a "
            "connection without a partner is reported as unpaired), ignoring values that "
            "differ between runs. '-' reads a capture from standard input. Exit "
            "status: 0 equal, 1 different, 2 trouble. Commands that differ only in a text "
            "payload show a line diff of the payload (volatile headers ignored)."
        ),
    )
    parser.add_argument("a", metavar="A", help="the first capture")
    parser.add_argument("b", metavar="B", help="the second capture")
    parser.add_argument(
        "--ignore",
        default="all",
        metavar="RULES",
        help=f"comma-separated rules among {','.join(IGNORE_RULES)}; 'all' (default) or 'none'",
    )
    parser.add_argument(
        "--conn-role",
        metavar="ROLE[,ROLE]",
        help=f"compare only connections of these roles ({', '.join(ROLES)}; any case)",
    )
    parser.add_argument(
        "--ignore-cmd",
        metavar="VERB[,VERB]",
        action="append",
        help="leave these verbs out of the comparison, both ways (e.g. CHL,QRY,PNG,QNG)",
    )
    parser.add_argument(
        "--reorder-window",
        type=int,
        default=DEFAULT_REORDER_WINDOW,
        metavar="N",
        help="server commands that answer no pending request may move up to N commands "
        f"without counting as a difference (default {DEFAULT_REORDER_WINDOW}; 0: none)",
    )
    parser.add_argument(
        "--split-directions",
        action="store_true",
        help="compare each direction on its own (ignores how the two interleave)",
    )
    parser.add_argument(
        "-U", "--context", type=int, default=3, metavar="N", help="lines of context (3)"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("-q", "--quiet", action="store_true", help="only the exit status")
    output.add_argument(
        "--json",
        action="store_true",
        help="print the differences as JSON: a list of per-connection differences ([] if equal)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the differences; 0 when equal, 1 when different, 2 on trouble."""
    try:
        ignore = parse_ignore(args.ignore)
    except ValueError as exc:
        return fail("diff", str(exc))
    if args.context < 0:
        return fail("diff", "--context must not be negative")
    if args.reorder_window < 0:
        return fail("diff", "--reorder-window must not be negative")
    ignore_cmd = parse_ignore_cmd(",".join(args.ignore_cmd or ()))
    try:
        roles = parse_roles(args.conn_role.split(",")) if args.conn_role is not None else None
    except ValueError as exc:
        return fail("diff", f"--conn-role: {exc}")
    if args.a == args.b == STDIN:
        return fail("diff", "standard input (-) can be A or B, not both")
    try:
        same = identical_captures(args.a, args.b)
    except CaptureFormatError as exc:
        return fail("diff", str(exc))
    except OSError as exc:
        return fail("diff", f"cannot read {exc.filename}: {exc.strerror or exc}")
    if same:  # byte for byte the same capture: equal under any options
        if args.json:
            sys.stdout.write("[]\n")
        return 0
    show = sys.stderr.isatty() and not args.quiet
    sides: list[Side] = []
    cache: KeyCache = {}
    for path in (args.a, args.b):
        with _progress(show, f"reading {path}", "records") as tick:
            side = _side(path, ignore, ignore_cmd, args.split_directions, tick, cache)
        if isinstance(side, int):
            return side
        sides.append(side)
    try:
        with _progress(show, "comparing", "commands") as tick:
            diffs = diff_sides(
                sides[0],
                sides[1],
                ignore,
                roles=roles,
                context=args.context,
                reorder_window=args.reorder_window,
                progress=tick,
            )
    except CaptureFormatError as exc:
        return fail("diff", str(exc))
    except OSError as exc:
        return fail("diff", f"cannot read {exc.filename}: {exc.strerror or exc}")
    if args.json:
        sys.stdout.write(json.dumps(diff_json(diffs), indent=2, ensure_ascii=False) + "\n")
    elif diffs and not args.quiet:
        sys.stdout.write(format_diff(diffs, args.a, args.b))
    return 1 if diffs else 0


def _side(
    path: str,
    ignore: frozenset[str],
    ignore_cmd: frozenset[str],
    split: bool,
    tick: Progress | None,
    cache: KeyCache,
) -> Side | int:
    """The capture at ``path`` as compared (a file: indexed, each connection read again
    when compared; ``-``: standard input, in memory; ``cache`` shared by both), or the
    exit status after a clear error message."""
    if path == STDIN:
        capture = open_capture("diff", path, tick)
        if isinstance(capture, int):
            return capture
        try:
            return side_of(capture, ignore, ignore_cmd, split, cache)
        except CaptureFormatError as exc:
            return fail("diff", where(path, str(exc)))
    try:
        return load_side(path, ignore, ignore_cmd, split, progress=tick, cache=cache)
    except CaptureFormatError as exc:
        text = str(exc)
        return fail("diff", where(path, text))
    except OSError as exc:
        return fail("diff", f"cannot read {path}: {exc.strerror or exc}")


@contextmanager
def _progress(show: bool, description: str, unit: str) -> Iterator[Progress | None]:
    """A progress callback (done, total) drawing a tqdm bar on stderr, or None when the
    bar is not shown (stderr not a terminal, or ``-q``)."""
    if not show:
        yield None
        return
    from tqdm import tqdm  # only on a terminal: the import costs a little start-up time

    with tqdm(desc=description, unit=f" {unit}", unit_scale=True, leave=False) as bar:

        def tick(done: int, total: int) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        yield tick
