"""``msproxy replay``: play a recorded connection back, as the server or as the client."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

import trio

from msproxy.capture import CaptureFormatError
from msproxy.inspect.clitools import fail, open_capture
from msproxy.inspect.model import Capture
from msproxy.inspect.normalize import IGNORE_RULES, parse_ignore
from msproxy.inspect.replay import (
    DEFAULT_TIMEOUT,
    ReplayReport,
    choose_connection,
    replay_as_client,
    serve_replay,
)


def register(subparsers: Any) -> None:
    """Add the ``replay`` sub-command."""
    parser = subparsers.add_parser(
        "replay",
        help="replay a recorded connection as the server or as the client",
        description=(
            "Replay one recorded connection. --as-server: listen, wait for a client and "
            "answer it as the recorded server did (TrIDs renumbered to the client's). "
            "--as-client: connect to a server, send the recorded client commands (TrIDs "
            "from 1) and compare its replies. Exit status: 0 no differences, 1 differences, "
            "2 trouble."
        ),
    )
    parser.add_argument("capture", metavar="CAPTURE", help="a capture file (JSON Lines)")
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
        "--conn", type=int, metavar="N", help="the recorded connection (default: the first)"
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
    parser.set_defaults(run=run)


def split_address(text: str, option: str) -> tuple[str, int]:
    """``"host:port"`` (or ``"[v6]:port"``) -> (host, port).

    Raises:
        ValueError: not host:port.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{option} wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


async def _as_server(
    capture: Capture, host: str, port: int, conn: int, ignore: frozenset[str], wait: float
) -> ReplayReport:
    reports: list[ReplayReport] = []

    async def serve(task_status: trio.TaskStatus[list[tuple[str, int]]]) -> None:
        reports.append(
            await serve_replay(
                capture,
                host,
                port,
                conn=conn,
                ignore=ignore,
                step_timeout=wait,
                task_status=task_status,
            )
        )

    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(serve)
        for bound_host, bound_port in addresses:
            print(f"replaying connection {conn} as the server on {bound_host}:{bound_port}")
        sys.stdout.flush()
    return reports[0]


async def _as_client(
    capture: Capture, host: str, port: int, conn: int, ignore: frozenset[str], wait: float
) -> ReplayReport:
    with trio.fail_after(wait):
        stream = await trio.open_tcp_stream(host, port)
    return await replay_as_client(capture, stream, conn=conn, ignore=ignore, step_timeout=wait)


def run(args: argparse.Namespace) -> int:
    """Replay; 0 without differences, 1 with, 2 on trouble."""
    try:
        ignore = parse_ignore(args.ignore)
        if args.as_client:
            if args.server is None:
                raise ValueError("--as-client needs --server HOST:PORT")
            host, port = split_address(args.server, "--server")
        else:
            host, port = split_address(args.listen, "--listen")
        if args.timeout <= 0:
            raise ValueError("--timeout must be positive")
    except ValueError as exc:
        return fail("replay", str(exc))
    capture = open_capture("replay", args.capture)
    if isinstance(capture, int):
        return capture
    try:
        conn = choose_connection(capture, args.conn)
        runner = _as_client if args.as_client else _as_server
        report = trio.run(
            functools.partial(runner, capture, host, port, conn, ignore, args.timeout)
        )
    except (ValueError, CaptureFormatError) as exc:
        return fail("replay", str(exc))
    except (OSError, trio.TooSlowError) as exc:
        action = "connect to" if args.as_client else "listen on"
        reason = str(exc) or "timed out"
        return fail("replay", f"cannot {action} {host}:{port}: {reason}")
    sys.stdout.write(report.format())
    return 0 if report.ok else 1
