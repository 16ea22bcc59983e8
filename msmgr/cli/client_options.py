"""Options and plumbing shared by the client sub-commands (send, listen, presence, contacts).

Not a sub-command itself. Every client sub-command takes ``--server HOST:PORT``,
``--user``, ``--password`` (or ``$MSMGR_PASSWORD``), ``--protocol MSNPn`` (the highest
version offered: MSNP2-7 log in with MD5, MSNP8-12 with Passport 1.4; MSNP13+ are
refused when the arguments are parsed), ``--nexus URL`` (Passport nexus), ``--debug FLAGS``
(Net::Msmgr debug flags), ``--timeout SECONDS`` and ``-v``/``-q``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from msmgr.cli.entry import address_arg, argument_type, codec_accelerate, debug_arg, run_async
from msmgr.client import ClientError, Session, protocol_number
from msmgr.client.errors import describe
from msmgr.client.passport import DEFAULT_NEXUS
from msmgr.codec.versions import MSNP_PORT, TWEENER
from msmgr.debug import Debug
from msmgr.logsetup import configure_logging

DEFAULT_SERVER = f"messenger.hotmail.com:{MSNP_PORT}"

AsyncMain = Callable[[argparse.Namespace], Awaitable[int]]


def _protocol(text: str) -> int:
    return argument_type(
        lambda value: protocol_number(value if not value.isdigit() else int(value)), text
    )


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def add_login_options(parser: argparse.ArgumentParser) -> None:
    """The options every logging-in sub-command takes."""
    group = parser.add_argument_group("login")
    group.add_argument(
        "--server", type=address_arg, default=DEFAULT_SERVER, metavar="HOST:PORT",
        help=f"dispatch (or notification) server (default {DEFAULT_SERVER})",
    )  # fmt: skip
    group.add_argument("--user", required=True, metavar="EMAIL", help="the account to log in")
    group.add_argument("--password", metavar="PW", help="its password (default: $MSMGR_PASSWORD)")
    group.add_argument(
        "--protocol", type=_protocol, default=8, metavar="MSNPn",
        help="highest protocol version to offer, MSNP2-MSNP12 (default MSNP8; MSNP2-7 log in"
        " with MD5, MSNP8-12 with Passport 1.4; MSNP13+ are not supported)",
    )  # fmt: skip
    group.add_argument(
        "--nexus", metavar="URL",
        help=f"Passport 1.4 nexus for MSNP8-12 (needed then, except with Microsoft's own "
        f"servers, whose nexus was {DEFAULT_NEXUS}; msmgr serve prints its own)",
    )  # fmt: skip
    group.add_argument(
        "--debug", type=debug_arg, default=Debug.NONE, metavar="FLAGS",
        help="Net::Msmgr debug flags: a number or names, e.g. COMMAND_SEND,COMMAND_RECV",
    )  # fmt: skip
    group.add_argument(
        "--timeout", type=_seconds, default=30.0, metavar="SECONDS",
        help="limit for connecting, logging in and each request (default 30)",
    )  # fmt: skip
    group.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    group.add_argument("-q", "--quiet", action="count", default=0, help="less log output")


MICROSOFT_DOMAINS = ("hotmail.com", "msn.com", "passport.com", "live.com", "passport.net")
"""Where Microsoft's own MSN servers were, whose Passport nexus was ``DEFAULT_NEXUS``."""


def nexus_url(server_host: str, protocol: int, given: str | None) -> str:
    """The Passport nexus to use: ``given``, else Microsoft's for Microsoft's servers and
    for MD5 logins (below MSNP8, where it is never asked).

    Raises:
        ClientError: MSNP8 or later offered to another server without ``--nexus``.
    """
    if given is not None:
        return given
    host = server_host.lower().rstrip(".")
    microsoft = any(host == d or host.endswith("." + d) for d in MICROSOFT_DOMAINS)
    if microsoft or protocol < TWEENER:
        return DEFAULT_NEXUS
    raise ClientError(
        f"MSNP{TWEENER} and later log in through a Passport 1.4 nexus, and {server_host} "
        "is not Microsoft's: pass --nexus URL (msmgr serve prints its own: "
        "http://127.0.0.1:PORT/rdr/pprdr.asp), or --protocol MSNP7 to log in with MD5"
    )


def make_session(args: argparse.Namespace, **overrides: Any) -> Session:
    """A Session configured from the parsed options.

    Raises:
        ClientError: no password given.
    """
    password = args.password if args.password is not None else os.environ.get("MSMGR_PASSWORD")
    if password is None:
        raise ClientError("no password: use --password or set MSMGR_PASSWORD")
    options: dict[str, Any] = {
        "server": args.server,
        "protocol": args.protocol,
        "nexus_url": nexus_url(args.server[0], args.protocol, args.nexus),
        "debug": args.debug,
        "connect_timeout": args.timeout,
        "request_timeout": args.timeout,
        "login_timeout": args.timeout,
        "accelerate": codec_accelerate(),
    }
    options.update(overrides)
    return Session(args.user, password, **options)


def run_client(name: str, main: AsyncMain, args: argparse.Namespace) -> int:
    """Configure logging, run ``main`` under trio, turn client failures into one line and 1."""
    configure_logging(args.verbose - args.quiet, debug_loggers=bool(args.debug))
    return run_async(main, args, expected=(ClientError,), describe=describe)


async def run_guarded(name: str, main: AsyncMain, args: argparse.Namespace) -> int:
    """``main(args)``, with client errors printed and turned into status 1 (for tests)."""
    try:
        return await main(args)
    except ClientError as exc:
        print(f"msmgr {name}: error: {describe(exc)}", file=sys.stderr)
        return 1
