"""The ``msproxy`` command line."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__

# Each name is a module msproxy.cli.<name> with ``register(subparsers) -> None``, which adds
# its sub-command and sets ``run=<function(args) -> int>`` as the parser default.
SUBCOMMANDS: tuple[str, ...] = ("demo", "run", "show", "summary", "diff", "replay")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``msproxy`` with all its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="msproxy", description="MSNP man-in-the-middle proxy and traffic inspector."
    )
    parser.add_argument("--version", action="version", version=f"msproxy {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"msproxy.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``msproxy`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
