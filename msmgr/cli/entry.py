"""msmgr/cli/entry: what the ``msmgr`` and ``msproxy`` command lines share.

Each program is a list of sub-command modules, each with ``register(subparsers) -> None``
adding its parser and setting ``run=<function(args) -> int>`` as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Program:
    """A command line: its name, description, version and sub-command modules."""

    name: str
    description: str
    version: str
    subcommands: Sequence[str]  # module names, imported in this order

    def build_parser(self) -> argparse.ArgumentParser:
        """The argument parser with every sub-command registered."""
        parser = argparse.ArgumentParser(prog=self.name, description=self.description)
        parser.add_argument("--version", action="version", version=f"{self.name} {self.version}")
        subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
        for module in self.subcommands:
            importlib.import_module(module).register(subparsers)
        return parser

    def main(self, argv: Sequence[str] | None = None) -> int:
        """Parse ``argv`` (default ``sys.argv[1:]``), run the sub-command, return its status."""
        parser = self.build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        try:
            return int(args.run(args))
        except BrokenPipeError:
            # The reader went away (``msproxy show ... | head``): stop quietly, as cat does.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
