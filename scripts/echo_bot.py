"""An echo bot on msmgr.client: answers every text message with the same text.

    python scripts/echo_bot.py --server 127.0.0.1:1863 --user bob@example.com \\
        --password bob-password [--protocol MSNP7] [--nexus URL] [--debug FLAGS]

The bot itself is the dozen lines of ``run_bot``; the rest is argument handling.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import trio

from msmgr.cli.entry import debug_arg
from msmgr.client import Conversation, open_session, parse_message
from msmgr.codec import Command


async def run_bot(handle: str, password: str, **options: Any) -> None:
    """Log in as ``handle`` and echo every text message until the server ends the session."""

    async def echo(command: Command, conversation: Conversation) -> None:
        message = parse_message(command)
        if message.is_text:
            await conversation.send_text(message.text)

    def on_conversation(conversation: Conversation) -> None:
        conversation.sb.add_handler((echo, conversation), "MSG")

    async with open_session(handle, password, **options) as session:
        session.add_handler(on_conversation, "conversation")
        await session.set_state("NLN")
        await session.wait_logged_out()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="msmgr echo bot")
    parser.add_argument("--server", default="messenger.hotmail.com:1863", metavar="HOST:PORT")
    parser.add_argument("--user", required=True, metavar="EMAIL")
    parser.add_argument("--password", default=os.environ.get("MSMGR_PASSWORD"), metavar="PW")
    parser.add_argument("--protocol", default="MSNP8", metavar="MSNPn")
    parser.add_argument("--nexus", default="https://nexus.passport.com/rdr/pprdr.asp")
    parser.add_argument(
        "--debug",
        type=debug_arg,
        default=0,
        metavar="FLAGS",
        help="Net::Msmgr debug flags: a number or names, e.g. COMMAND_SEND,COMMAND_RECV",
    )
    args = parser.parse_args(argv)
    if args.password is None:
        parser.error("no password: use --password or set MSMGR_PASSWORD")
    options = {"server": args.server, "protocol": args.protocol, "nexus_url": args.nexus}
    try:
        trio.run(lambda: run_bot(args.user, args.password, debug=args.debug, **options))
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        print(f"echo_bot: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
