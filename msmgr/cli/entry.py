"""msmgr/cli/entry: what the ``msmgr`` and ``msproxy`` command lines share.

Each program is a list of sub-command modules, each with ``register(subparsers) -> None``
adding its parser and setting ``run=<function(args) -> int>`` as the parser default.
The argparse ``type=`` converters for addresses and debug flags live here too, so every
sub-command reports a bad ``HOST:PORT`` or flag list the same way.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from msmgr.codec.address import parse_address
from msmgr.debug import Debug, parse_debug

T = TypeVar("T")


def argument_type(parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, its ValueError raised as argparse's ArgumentTypeError (same message)."""
    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def address_arg(text: str) -> tuple[str, int]:
    """``type=`` for a server's ``HOST[:PORT]`` (port 1863 when none is given)."""
    return argument_type(parse_address, text)


def listen_address_arg(text: str) -> tuple[str, int]:
    """``type=`` for a listening ``HOST[:PORT]``: port 0 (any free port) allowed."""
    return argument_type(lambda value: parse_address(value, allow_zero=True), text)


def debug_arg(text: str) -> Debug:
    """``type=`` for Net::Msmgr debug flags: a number or names (``COMMAND_SEND,OPEN``)."""
    return argument_type(parse_debug, text)


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
