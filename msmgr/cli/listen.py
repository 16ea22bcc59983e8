"""``msmgr listen``: log in and print incoming messages and presence changes.

Runs until Ctrl-C, until ``--count N`` messages arrived, or for ``--timeout``-independent
``--duration SECONDS``. Each message prints as ``handle: text``; presence changes as
``handle is now Away`` / ``handle is now Offline``.
"""

from __future__ import annotations

import argparse
import sys

import trio

from msmgr.client import STATES, STATUS_WORDS, Conversation, parse_message
from msmgr.codec import Command

from .client_options import add_login_options, make_session, run_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``listen`` sub-command."""
    parser = subparsers.add_parser(
        "listen",
        help="print incoming messages and presence",
        description="Log in and print the messages and presence changes that arrive.",
    )
    add_login_options(parser)
    parser.add_argument("--count", type=int, metavar="N", help="stop after N messages")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    parser.add_argument(
        "--state", type=str.upper, choices=STATES, default="NLN", help="our status (NLN)"
    )
    parser.set_defaults(run=run)


async def main(args: argparse.Namespace) -> int:
    """Listen until the count, the duration or the server ends it."""
    done = trio.Event()
    received = 0

    def show(text: str) -> None:
        print(text, flush=True)

    def on_message(command: Command) -> None:
        nonlocal received
        message = parse_message(command)
        if not message.is_text:
            return
        show(f"{message.sender}: {message.text}")
        received += 1
        if args.count is not None and received >= args.count:
            done.set()

    def on_conversation(conversation: Conversation) -> None:
        conversation.sb.add_handler(on_message, "MSG")

    def on_presence(command: Command) -> None:
        if command.verb == "FLN":
            show(f"{command.args[0]} is now Offline")
        elif len(command.args) >= 2:
            show(f"{command.args[1]} is now {STATUS_WORDS.get(command.args[0], command.args[0])}")

    async with make_session(args) as session:
        session.add_handler(on_conversation, "conversation")
        session.add_handler(on_presence, "ILN", "NLN", "FLN")
        await session.login()
        await session.sync()
        await session.set_state(args.state)

        async def stop_when_logged_out() -> None:
            await session.wait_logged_out()
            done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_when_logged_out)
            with trio.move_on_after(args.duration if args.duration else float("inf")):
                await done.wait()
            nursery.cancel_scope.cancel()
        if session.close_reason and not session.logged_in:
            print(f"msmgr listen: {session.close_reason}", file=sys.stderr)
            return 1
    return 0


def run(args: argparse.Namespace) -> int:
    return run_client("listen", main, args)
