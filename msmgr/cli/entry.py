"""msmgr/cli/entry: what the ``msmgr`` and ``msproxy`` command lines share.

Each program is a list of sub-command modules, each with ``register(subparsers) -> None``
adding its parser and setting ``run=<function(args) -> int>`` as the parser default.
The argparse ``type=`` converters for addresses and debug flags live here too, so every
sub-command reports a bad ``HOST:PORT`` or flag list the same way.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import trio

from msmgr.codec.address import parse_address
from msmgr.codec.framer import PURE_PYTHON_ENV
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


def count_arg(text: str) -> int:
    """``type=`` for a cap: a whole number, 0 meaning none."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number (0: no cap), got {text!r}")
    return value


def seconds_arg(text: str) -> float:
    """``type=`` for a timeout: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


class CommandFailed(Exception):
    """A sub-command failed in a way it expected: the message is shown, not a traceback.

    ``Program.main`` prints ``<prog> <command>: error: <message>`` and exits ``status``.
    """

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def leaves(exc: BaseException) -> list[BaseException]:
    """``[exc]``, or every exception inside ``exc`` when it is a (nested) exception group."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def run_async(
    fn: Callable[..., Awaitable[T]],
    *args: object,
    expected: tuple[type[BaseException], ...] = (OSError,),
    describe: Callable[[BaseException], str] = str,
) -> T:
    """``trio.run(fn, *args)`` for a command line: expected failures become one line.

    Trio wraps what a nursery's task raises in exception groups; a command line wants the
    reason, once. When every exception inside is one of ``expected``, ``CommandFailed``
    is raised with their ``describe``d texts (a port in use, an unreachable server, a
    capture file that exists). Anything else (a bug) propagates with its traceback.
    """
    try:
        return trio.run(fn, *args)
    except BaseException as exc:  # re-raised below unless it is all expected
        found = leaves(exc)
        if found and all(isinstance(e, expected) for e in found):
            texts = dict.fromkeys(describe(e) or type(e).__name__ for e in found)
            raise CommandFailed("; ".join(texts)) from exc
        raise


def codec_accelerate() -> bool | None:
    """The command line's choice of the codec's C accelerator, for the ``accelerate``
    argument of what it builds (``Session``, ``ServerConfig``, the replays): False when
    ``MSMGR_PURE_PYTHON`` is set (non-empty), else None (C when built)."""
    return False if os.environ.get(PURE_PYTHON_ENV) else None


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
        except CommandFailed as exc:
            print(f"{self.name} {args.command}: error: {exc}", file=sys.stderr)
            return exc.status
        except BaseException as exc:
            found = leaves(exc)
            if found and all(isinstance(e, KeyboardInterrupt) for e in found):
                return 130  # Ctrl-C where the command does not handle it: no traceback
            if found and all(isinstance(e, BrokenPipeError) for e in found):
                # The reader went away (``msproxy show ... | head``): stop quietly, as cat does.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                return 1
            raise
