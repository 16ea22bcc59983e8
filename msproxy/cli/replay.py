"""``msproxy replay``: play a recorded session or connection back, as the server or the client."""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict, TypeVar

import trio

from msmgr.cli.entry import CommandFailed, codec_accelerate, run_async
from msmgr.client.passport import DEFAULT_NEXUS
from msmgr.codec.address import format_address, parse_address
from msproxy.capture import CaptureFormatError
from msproxy.inspect.clitools import capture_parser, fail, open_capture
from msproxy.inspect.model import Capture
from msproxy.inspect.normalize import IGNORE_RULES, parse_ignore
from msproxy.inspect.replay import (
    DEFAULT_TIMEOUT,
    ReplayReport,
    choose_connection,
    replay_as_client,
    serve_replay,
)
from msproxy.inspect.session_plan import SessionPlan
from msproxy.inspect.session_replay import SessionReport, serve_session_replay

T = TypeVar("T")


def register(subparsers: Any) -> None:
    """Add the ``replay`` sub-command."""
    parser = capture_parser(
        subparsers,
        "replay",
        brief="replay a recorded session or connection as the server or as the client",
        description=(
            "Replay a recorded session or connection, as the server or as the client. "
            "--as-server: listen and stand in for the recorded server side. Without --conn, "
            "the whole session: every client connection is routed to the recorded one it "
            "stands for (SB by cookie, DS/NS by first command and order), redirects point "
            "back at this listener, and server commands keep the recorded order across "
            "connections. With --conn N, that one connection for the first client. Client "
            "commands are matched under --ignore and answered with the recorded replies, "
            "TrIDs renumbered to the client's. --as-client: connect to a server, send the "
            "recorded client commands of one connection (TrIDs from 1) and compare its "
            "replies. Exit status: 0 no differences, 1 differences, 2 trouble."
        ),
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--as-server", action="store_true", help="stand in for the server")
    mode.add_argument("--as-client", action="store_true", help="re-drive a server")
    parser.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where --as-server listens (default 127.0.0.1:0, a free port, printed)",
    )
    parser.add_argument("--server", metavar="HOST:PORT", help="the server --as-client drives")
    parser.add_argument(
        "--conn",
        type=int,
        metavar="N",
        help="one recorded connection (default: --as-server the whole session, "
        "--as-client the first connection)",
    )
    parser.add_argument(
        "--ignore",
        default="all",
        metavar="RULES",
        help=f"fields ignored when matching: {','.join(IGNORE_RULES)}, all (default), none",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"wait per step (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--password",
        metavar="PW",
        help="--as-client: the account's password, to answer the live server's login "
        "challenge (the MD5 hash, or a Passport ticket fetched from --nexus) instead of "
        "the recorded, redacted answer",
    )
    parser.add_argument(
        "--nexus",
        default=DEFAULT_NEXUS,
        metavar="URL",
        help="--as-client --password: the Passport nexus for MSNP8+ logins "
        "(default: the original's)",
    )
    parser.set_defaults(run=run)


def split_address(text: str, option: str) -> tuple[str, int]:
    """``"host:port"`` (or ``"[v6]:port"``; port 0 allowed) -> (host, port).

    Raises:
        ValueError: not host:port.
    """
    try:
        return parse_address(text, default_port=None, allow_zero=True)
    except ValueError as exc:
        raise ValueError(f"{option} wants HOST:PORT, not {text!r} ({exc})") from None


Addresses = list[tuple[str, int]]


async def _serving(
    serve: Callable[[trio.TaskStatus[Addresses]], Awaitable[T]], banner: Callable[[str], str]
) -> T:
    """Run ``serve``, print ``banner(address)`` once it listens, return its result."""
    results: list[T] = []

    async def task(task_status: trio.TaskStatus[Addresses]) -> None:
        results.append(await serve(task_status))

    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(task)
        for bound_host, bound_port in addresses:
            print(banner(format_address(bound_host, bound_port)))
        sys.stdout.flush()
    return results[0]


class Play(TypedDict):
    """How a replay plays, as the command line was told (the replay functions' keyword
    arguments): the ignore rules, the wait per step, the codec's C accelerator."""

    ignore: frozenset[str]
    step_timeout: float
    accelerate: bool | None


class Stopped(Exception):
    """SIGINT or SIGTERM came before the replay finished (its name is the message)."""


async def until_signal(work: Callable[[], Awaitable[T]]) -> T:
    """``await work()``; SIGINT or SIGTERM cancels it (as they stop ``msproxy run``).
    Signals reach only the main thread: in another (a test's), it is just ``work()``.

    Raises:
        Stopped: a signal came first.
    """
    if threading.current_thread() is not threading.main_thread():
        return await work()
    results: list[T] = []
    stopped: list[str] = []
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def main() -> None:
                results.append(await work())
                nursery.cancel_scope.cancel()

            nursery.start_soon(main)
            async for signum in signals:
                stopped.append(signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break
    if stopped:
        raise Stopped(stopped[0])
    return results[0]


async def _as_server(capture: Capture, host: str, port: int, conn: int, play: Play) -> ReplayReport:
    serve = functools.partial(serve_replay, capture, host, port, conn=conn, **play)
    return await until_signal(
        lambda: _serving(
            lambda status: serve(task_status=status),
            lambda address: f"replaying connection {conn} as the server on {address}",
        )
    )


async def _session(capture: Capture, host: str, port: int, play: Play) -> SessionReport:
    serve = functools.partial(serve_session_replay, capture, host=host, port=port, **play)
    count = len(SessionPlan(capture).connections)
    return await until_signal(
        lambda: _serving(
            lambda status: serve(task_status=status),
            lambda address: (
                f"replaying the whole session ({count} connections) as the server on {address}"
            ),
        )
    )


async def _as_client(
    capture: Capture, host: str, port: int, conn: int, login: Login, play: Play
) -> ReplayReport:
    async def replay() -> ReplayReport:
        with trio.fail_after(play["step_timeout"]):
            stream = await trio.open_tcp_stream(host, port)
        return await replay_as_client(capture, stream, conn=conn, **play, **login)

    return await until_signal(replay)


class Login(TypedDict):
    """How ``replay --as-client`` logs in: the password (None: as recorded), the nexus."""

    password: str | None
    nexus_url: str


def run(args: argparse.Namespace) -> int:
    """Replay; 0 without differences, 1 with, 2 on trouble (a signal before the end too)."""
    try:
        ignore = parse_ignore(args.ignore)
        if args.as_client:
            if args.server is None:
                raise ValueError("--as-client needs --server HOST:PORT")
            host, port = split_address(args.server, "--server")
        elif args.password is not None:
            raise ValueError("--password goes with --as-client")
        else:
            host, port = split_address(args.listen, "--listen")
        if args.timeout <= 0:
            raise ValueError("--timeout must be positive")
    except ValueError as exc:
        return fail("replay", str(exc))
    capture = open_capture("replay", args.capture)
    if isinstance(capture, int):
        return capture

    def reason(exc: BaseException) -> str:
        if not args.as_client:  # (the listeners' errors name the address)
            return f"cannot listen: {exc}"
        return f"cannot connect to {host}:{port}: {str(exc) or 'timed out'}"

    expected = (OSError, trio.TooSlowError)
    play = Play(ignore=ignore, step_timeout=args.timeout, accelerate=codec_accelerate())
    try:
        report: ReplayReport | SessionReport
        if args.as_server and args.conn is None:
            choose_connection(capture)  # a capture without commands is an error
            session = functools.partial(_session, capture, host, port, play)
            report = run_async(session, expected=expected, describe=reason)
        else:
            conn = choose_connection(capture, args.conn)
            if args.as_client:
                login = Login(password=args.password, nexus_url=args.nexus)
                one = functools.partial(_as_client, capture, host, port, conn, login, play)
            else:
                one = functools.partial(_as_server, capture, host, port, conn, play)
            report = run_async(one, expected=expected, describe=reason)
    except (ValueError, CaptureFormatError, CommandFailed) as exc:
        return fail("replay", str(exc))
    except Stopped as exc:
        return fail("replay", f"stopped by {exc} before the replay finished (no report)")
    sys.stdout.write(report.format())
    return 0 if report.ok else 1
