"""The ``msmgr`` command line: the reference server and the client sub-commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import __version__
from .cli.entry import Program

SUBCOMMANDS: tuple[str, ...] = ("serve", "send", "listen", "presence", "contacts")

PROGRAM = Program(
    name="msmgr",
    description="MSN Messenger protocol library, client and reference server.",
    version=__version__,
    subcommands=[f"msmgr.cli.{name}" for name in SUBCOMMANDS],
)

build_parser = PROGRAM.build_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``msmgr`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    sys.exit(main())
