"""The ``msproxy`` command line: the proxy, the demo and the capture tools."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from msmgr.cli.entry import Program

from . import __version__

SUBCOMMANDS: tuple[str, ...] = (
    "demo",
    "run",
    "show",
    "summary",
    "diff",
    "replay",
    "convert",
    "import_",
    "export",
    "web",
)

PROGRAM = Program(
    name="msproxy",
    description="MSNP man-in-the-middle proxy and traffic inspector.",
    version=__version__,
    subcommands=[f"msproxy.cli.{name}" for name in SUBCOMMANDS],
)

build_parser = PROGRAM.build_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``msproxy`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    sys.exit(main())
