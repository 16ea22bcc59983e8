"""``msmgr send``: log in, open a conversation, send one message, wait for its ACK, log out.

Exit status 0 once the switchboard acknowledged the message; 1 (with the reason on
stderr) if the login, the invitation (e.g. the contact is offline) or the delivery fails.
"""

from __future__ import annotations

import argparse

from .client_options import add_login_options, make_session, run_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``send`` sub-command."""
    parser = subparsers.add_parser(
        "send",
        help="send one message to a contact",
        description="Log in, send one text message to a contact on a switchboard, log out.",
    )
    add_login_options(parser)
    parser.add_argument("--to", required=True, metavar="EMAIL", help="the recipient")
    parser.add_argument("text", help="the message text")
    parser.set_defaults(run=run)


async def main(args: argparse.Namespace) -> int:
    """Send ``args.text`` to ``args.to``; 0 once acknowledged."""
    async with make_session(args) as session:
        await session.login()
        await session.set_state("NLN")
        conversation = await session.new_conversation(args.to)
        await conversation.send_text(args.text, ack="A")
        if args.verbose - args.quiet >= 0:
            print(f"delivered to {args.to}")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_client("send", main, args)
