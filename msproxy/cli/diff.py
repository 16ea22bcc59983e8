"""``msproxy diff``: compare two captures per connection, ignoring volatile fields."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from msproxy.capture import CaptureFormatError
from msproxy.inspect.clitools import fail, open_capture
from msproxy.inspect.diff import ROLES, diff_captures, diff_json, format_diff, parse_roles
from msproxy.inspect.normalize import IGNORE_RULES, parse_ignore


def register(subparsers: Any) -> None:
    """Add the ``diff`` sub-command."""
    parser = subparsers.add_parser(
        "diff",
        help="compare two captures (exit 0 equal, 1 different, 2 trouble)",
        description=(
            "Compare two captures connection by connection (DS with DS, NS with NS, the "
            "n-th SB with the n-th SB: pair 'SB 2' may be SB#4 in A and SB#6 in B), "
            "ignoring values that differ between runs. Exit "
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
    try:
        roles = parse_roles(args.conn_role.split(",")) if args.conn_role is not None else None
    except ValueError as exc:
        return fail("diff", f"--conn-role: {exc}")
    a = open_capture("diff", args.a)
    if isinstance(a, int):
        return a
    b = open_capture("diff", args.b)
    if isinstance(b, int):
        return b
    try:
        diffs = diff_captures(
            a,
            b,
            ignore,
            roles=roles,
            context=args.context,
            split_directions=args.split_directions,
        )
    except CaptureFormatError as exc:
        return fail("diff", str(exc))
    if args.json:
        sys.stdout.write(json.dumps(diff_json(diffs), indent=2, ensure_ascii=False) + "\n")
    elif diffs and not args.quiet:
        sys.stdout.write(format_diff(diffs, args.a, args.b))
    return 1 if diffs else 0
