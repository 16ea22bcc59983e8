"""msmgr serve: run the reference MSNP server (DS, NS, SB and Passport HTTP).

Defaults: listen on 127.0.0.1, dispatch server on port 1863 (the original port), the
other roles on free ports chosen by the system; the demo accounts of
msmgr.server.DEMO_USERS (friendly names Alice, Bob and Carol) unless --user or
--users-file name others (their friendly names start as their e-mail addresses).
Logging: INFO by default (one line per connection open/close/login), -v adds every command,
-q only warnings. Ctrl-C (or SIGTERM) stops the server and exits with status 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Callable
from pathlib import Path

import trio

from msmgr.cli.entry import CommandFailed, codec_accelerate, run_async
from msmgr.cli.limits import add_limit_arguments, limits_from_args, raise_descriptor_limit
from msmgr.codec.versions import MSNP_PORT
from msmgr.logsetup import configure_logging
from msmgr.server import DEMO_NAMES, DEMO_USERS, ServerAddresses, ServerConfig, serve_reference

logger = logging.getLogger(__name__)


def parse_user(text: str) -> tuple[str, str]:
    """``email:password`` -> (email, password)."""
    email, sep, password = text.partition(":")
    if not sep or not email or "@" not in email:
        raise argparse.ArgumentTypeError(f"expected EMAIL:PASSWORD, got {text!r}")
    return email, password


def read_users_file(path: Path) -> dict[str, str]:
    """Accounts from a file of ``email:password`` lines (blank lines and ``#`` comments skipped).

    Raises:
        ValueError: a line is not ``email:password`` (names the line number).
    """
    users: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            email, password = parse_user(text)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
        users[email] = password
    return users


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the reference MSNP server",
        description="Run the reference MSNP server (dispatch, notification, switchboard and "
        "Passport 1.4 nexus and login) until Ctrl-C. "
        + (__doc__.split("\n\n", 1)[1] if __doc__ else ""),
    )
    parser.add_argument("--listen", default="127.0.0.1", metavar="HOST", help="bind address")
    parser.add_argument(
        "--ds-port", type=_port, default=MSNP_PORT, metavar="N", help=f"default {MSNP_PORT}"
    )
    parser.add_argument("--ns-port", type=_port, default=0, metavar="N", help="default: any")
    parser.add_argument("--sb-port", type=_port, default=0, metavar="N", help="default: any")
    parser.add_argument("--http-port", type=_port, default=0, metavar="N", help="default: any")
    parser.add_argument(
        "--advertise", metavar="HOST", help="host to put in XFR/RNG (default: the bound one)"
    )
    parser.add_argument(
        "--user",
        action="append",
        type=parse_user,
        default=[],
        metavar="EMAIL:PASSWORD",
        help="an account (repeatable); all accounts are each other's contacts",
    )
    parser.add_argument("--users-file", type=Path, metavar="PATH", help="email:password lines")
    parser.add_argument(
        "--challenge-interval",
        type=float,
        metavar="SECONDS",
        help="send CHL again this often (default: only after the first CHG)",
    )
    add_limit_arguments(parser, "connections (all roles together)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log every command")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="log warnings only")
    parser.set_defaults(run=run)


def build_config(args: argparse.Namespace) -> ServerConfig:
    """The server configuration the parsed arguments describe."""
    users: dict[str, str] = {}
    if args.users_file is not None:
        users.update(read_users_file(args.users_file))
    users.update(dict(args.user))
    return ServerConfig(
        host=args.listen,
        ds_port=args.ds_port,
        ns_port=args.ns_port,
        sb_port=args.sb_port,
        http_port=args.http_port,
        users=users or dict(DEMO_USERS),
        names={} if users else dict(DEMO_NAMES),
        advertise_host=args.advertise,
        challenge_interval=args.challenge_interval,
        accelerate=codec_accelerate(),
        connection_limits=limits_from_args(
            args,
            per_connection=1,
            reserve=64,  # the four listeners, stdio, the event loop's own
        ),
    )


def describe(addrs: ServerAddresses, users: dict[str, str]) -> list[str]:
    """The lines printed when the server is ready."""
    return [
        f"dispatch server (DS)      {addrs.ds[0]}:{addrs.ds[1]}",
        f"notification server (NS)  {addrs.ns[0]}:{addrs.ns[1]}",
        f"switchboard server (SB)   {addrs.sb[0]}:{addrs.sb[1]}",
        f"passport (HTTP)           {addrs.http[0]}:{addrs.http[1]}  nexus {addrs.nexus_url}",
        f"accounts: {', '.join(sorted(users))}",
    ]


async def serve_until_signal(config: ServerConfig, out: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM, printing the addresses with ``out`` when ready."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            addrs: ServerAddresses = await nursery.start(serve_reference, config)
            for line in describe(addrs, config.users):
                out(line)
            async for _ in signals:
                break
            nursery.cancel_scope.cancel()


def run(args: argparse.Namespace) -> int:
    """Run the server; 0 after Ctrl-C, 1 on a bad users file or a port in use."""
    configure_logging(1 + args.verbose - args.quiet)
    raise_descriptor_limit()
    try:
        config = build_config(args)
    except (OSError, ValueError) as exc:
        raise CommandFailed(str(exc)) from exc

    def out(line: str) -> None:
        print(line, flush=True)

    try:
        run_async(serve_until_signal, config, out, describe=lambda e: f"cannot listen: {e}")
    except KeyboardInterrupt:
        pass
    return 0
