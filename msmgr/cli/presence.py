"""``msmgr presence``: log in, set a status (NLN BSY IDL BRB AWY PHN LUN HDN), and stay.

Without ``--stay`` the status is set and the session logs out at once (which the others
see as going offline); ``--stay SECONDS`` keeps it that long (Ctrl-C ends it earlier).
"""

from __future__ import annotations

import argparse

import trio

from msmgr.client import STATES, STATUS_WORDS

from .client_options import add_login_options, make_session, run_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``presence`` sub-command."""
    parser = subparsers.add_parser(
        "presence", help="set a status", description="Log in and set the account's status."
    )
    add_login_options(parser)
    parser.add_argument("state", type=str.upper, choices=STATES, help="the status to set")
    parser.add_argument(
        "--stay", type=float, default=0.0, metavar="SECONDS", help="stay logged in this long"
    )
    parser.set_defaults(run=run)


async def main(args: argparse.Namespace) -> int:
    """Set ``args.state``; stay ``args.stay`` seconds."""
    async with make_session(args) as session:
        await session.login()
        await session.set_state(args.state)
        if args.verbose - args.quiet >= 0:
            print(f"{session.handle} is now {STATUS_WORDS[args.state]}")
        if args.stay > 0:
            with trio.move_on_after(args.stay):
                await session.wait_logged_out()
    return 0


def run(args: argparse.Namespace) -> int:
    return run_client("presence", main, args)
