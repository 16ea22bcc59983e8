"""msproxy run: proxy MSN clients to a server, printing and capturing every command.

Debug flags (Net::Msmgr's, --debug 12 or --debug COMMAND_SEND,COMMAND_RECV), as
the proxy uses them, each on its logger msmgr.debug.<flag>:

* COMMAND_SEND (4): commands from the client; COMMAND_RECV (8): commands from the server
  (the proxy stands where the client's library would);
* PACKET_SEND (1) / PACKET_RECV (2): a hexdump of every chunk from the client / server;
* OPEN (16) / CLOSE (32): connections opened (with where they were routed) and closed;
* CONFUSED (64): malformed lines, exceeded limits (always shown: they are warnings);
* HANDLER (128): every address rewrite;
* NOTIFICATION (256): list and presence commands, when COMMAND_* are off.

Without --debug the console shows commands, opens and closes (4|8|16|32);
-q without --debug shows only warnings (never fewer: CONFUSED and the proxy's own
warnings stay on however many -q). -v/-vv add the proxy's own INFO/DEBUG logging.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import time
from functools import partial
from pathlib import Path
from typing import TextIO

import trio

from msmgr.cli.entry import (
    CommandFailed,
    address_arg,
    codec_accelerate,
    debug_arg,
    leaves,
    listen_address_arg,
    run_async,
    seconds_arg,
)
from msmgr.cli.limits import add_limit_arguments, limits_from_args, raise_descriptor_limit
from msmgr.codec.address import format_address
from msmgr.codec.versions import MSNP_PORT
from msmgr.debug import Debug
from msmgr.logsetup import configure_logging
from msmgr.server import DEMO_USERS, ServerAddresses, ServerConfig, serve_reference
from msproxy.capture.records import FORMAT_VERSION, VERSIONS
from msproxy.capture.scan import PURE_PYTHON_ENV
from msproxy.faults import FaultRule, FaultRuleError, parse_rule
from msproxy.inspect.clitools import use_color
from msproxy.proxy.allocator import tune_malloc
from msproxy.proxy.config import CONNECT_TIMEOUT, FIRST_COMMAND_TIMEOUT, ProxyConfig
from msproxy.proxy.loss import CAPTURE_INCOMPLETE
from msproxy.proxy.server import ProxyListening, UpstreamLoopError, serve_proxy
from msproxy.view import filterlang
from msproxy.view.console import ConsoleFormatter
from msproxy.view.filterlang import FilterError

from .consolestream import BackgroundStreamHandler
from .web import DEFAULT_WEB, serve_web_process, web_address_arg

logger = logging.getLogger(__name__)
EXPECTED = (OSError, UpstreamLoopError)  # startup failures told in one line
RESERVED_DESCRIPTORS = 128
"""Descriptors kept out of the connection cap: listeners (the NS ones too), the capture,
the embedded server's listeners, the event loop's own."""
DEFAULT_DEBUG = Debug.COMMAND_SEND | Debug.COMMAND_RECV | Debug.OPEN | Debug.CLOSE


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` sub-command."""
    parser = subparsers.add_parser(
        "run",
        help="run the proxy between MSN clients and a server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--listen",
        type=listen_address_arg,
        default=("127.0.0.1", MSNP_PORT),
        metavar="HOST:PORT",
        help="where clients connect (default 127.0.0.1:1863; [::1]:1863 for IPv6; "
        "port 0: any free port, printed at start)",
    )
    parser.add_argument(
        "--upstream",
        type=address_arg,
        metavar="HOST:PORT",
        help="the DS/NS to send clients to (default: start the embedded reference server)",
    )
    parser.add_argument(
        "--capture",
        type=Path,
        metavar="PATH",
        help="capture file to create (default captures/msproxy-YYYYmmdd-HHMMSS-ffffff.jsonl, "
        "a name not taken yet)",
    )
    parser.add_argument(
        "--capture-version",
        type=int,
        choices=VERSIONS,
        default=FORMAT_VERSION,
        help=f"capture format version to write (default {FORMAT_VERSION}; 1: one cmd record "
        "per command, for tools that only read version 1)",
    )
    parser.add_argument("--debug", type=debug_arg, metavar="FLAGS", help="Net::Msmgr debug flags")
    parser.add_argument(
        "--filter",
        metavar="EXPR",
        help="which commands and connections the console shows, in the filter language of "
        "msproxy show ('not cmd PNG,QNG,CHL,QRY'); warnings are always shown and the "
        "capture stays complete",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the console as msproxy show does (auto: on a terminal, unless NO_COLOR "
        "is set)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="less logging")
    parser.add_argument(
        "--public-host",
        metavar="HOST[:PORT]",
        help="the host written into rewritten XFR/RNG (default: the address clients reached)",
    )
    parser.add_argument(
        "--no-redact",
        action="store_true",
        help="keep passwords' hashes, tickets and MSPAuth in the capture",
    )
    parser.add_argument(
        "--web",
        type=web_address_arg,
        nargs="?",
        const=DEFAULT_WEB,
        metavar="HOST:PORT",
        help="also serve the live web view (default 127.0.0.1 and a free port; the URL, "
        "with its token, is printed at start)",
    )
    limits = parser.add_argument_group("limits and timeouts")
    add_limit_arguments(limits, "client connections")
    limits.add_argument(
        "--connect-timeout",
        type=seconds_arg,
        default=CONNECT_TIMEOUT,
        metavar="SECONDS",
        help="seconds to connect to a server (default %(default)g)",
    )
    limits.add_argument(
        "--first-command-timeout",
        type=seconds_arg,
        default=FIRST_COMMAND_TIMEOUT,
        metavar="SECONDS",
        help="seconds a new client may take to send its first command (default %(default)g)",
    )
    limits.add_argument(
        "--idle-timeout",
        type=seconds_arg,
        metavar="SECONDS",
        help="close a connection where neither side sent anything for this long (default: never)",
    )
    parser.add_argument(
        "--fault",
        type=fault_arg,
        action="append",
        default=[],
        metavar="RULE",
        help="inject a fault: key=value,... (repeatable), e.g. action=delay,ms=200,cmd=MSG,"
        "dir=s2c; action=drop,cmd=NLN,role=NS,nth=3; action=reset,cmd=XFR (see the README)",
    )
    parser.set_defaults(run=main)


def fault_arg(text: str) -> FaultRule:
    """``--fault``'s value: a fault rule (argparse says which key is wrong)."""
    try:
        return parse_rule(text)
    except FaultRuleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def default_capture(now: float | None = None) -> Path:
    """``captures/msproxy-YYYYmmdd-HHMMSS-ffffff.jsonl`` (local time to the microsecond),
    a name no file has yet (a later microsecond when one has); the folder is created.

    Another process may still take the name before the capture is created: the capture
    is created exclusively (never overwriting a file) and ``run`` asks for another name.
    """
    folder = Path("captures")
    folder.mkdir(parents=True, exist_ok=True)
    micros = round((time.time() if now is None else now) * 1_000_000)
    while True:
        seconds, fraction = divmod(micros, 1_000_000)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(seconds))
        path = folder / f"msproxy-{stamp}-{fraction:06d}.jsonl"
        if not path.exists():
            return path
        micros += 1


DEFAULT_CAPTURE_TRIES = 10
"""How many default capture names ``run`` tries when each is taken before it is created."""


async def start_proxy(
    nursery: trio.Nursery, config: ProxyConfig, *, default_names: bool
) -> ProxyListening:
    """Start ``serve_proxy`` in ``nursery``; with ``default_names``, a capture name taken
    meanwhile (the file is created exclusively) is replaced by a fresh default one."""
    for attempt in range(1, DEFAULT_CAPTURE_TRIES + 1):
        try:
            listening: ProxyListening = await nursery.start(serve_proxy, config)
        except FileExistsError:
            if not default_names or attempt == DEFAULT_CAPTURE_TRIES:
                raise
            config = dataclasses.replace(config, capture=default_capture())
        else:
            return listening
    raise AssertionError("unreachable")  # pragma: no cover


def capture_accelerate() -> bool | None:
    """The command line's choice of the capture's C path (``ProxyConfig.accelerate``):
    False when ``MSPROXY_PURE_PYTHON`` is set (non-empty), else None (C when built)."""
    return False if os.environ.get(PURE_PYTHON_ENV) else None


def console_format(color: bool) -> BackgroundStreamHandler:
    """Write the console in ``msproxy show``'s line format, to standard error from a
    thread of its own (the root logger's handlers replaced): the handler."""
    formatter = ConsoleFormatter(color=color)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = BackgroundStreamHandler(sys.stderr)
    console.setFormatter(formatter)
    root.addHandler(console)
    return console


def main(args: argparse.Namespace) -> int:
    """Run the proxy until SIGINT/SIGTERM; 0 on a clean stop, 1 when it cannot start
    (2 when the upstream is the proxy itself or the filter is not one), 3 when capture
    records were lost."""
    try:
        console_filter = filterlang.compile(args.filter) if args.filter is not None else None
    except FilterError as exc:
        print(f"msproxy run: error: --filter: {exc}", file=sys.stderr)
        return 2
    debug: Debug | None = args.debug
    if debug is None:
        debug = Debug.NONE if args.quiet else DEFAULT_DEBUG
    # -q turns the command lines off (above); warnings are always shown, so the level
    # never goes below WARNING (verbosity 0), however many -q.
    configure_logging(max(0, args.verbose - args.quiet), debug_loggers=bool(debug))
    console = console_format(use_color(args.color, sys.stderr))
    tune_malloc()  # process-wide, like the logging: the CLI's to decide
    raise_descriptor_limit()
    capture = args.capture if args.capture is not None else default_capture()
    config = ProxyConfig(
        upstream=args.upstream or ("", 0),
        listen=args.listen,
        capture=capture,
        capture_version=args.capture_version,
        public_host=args.public_host,
        redact=not args.no_redact,
        debug=debug,
        console_filter=console_filter,
        console_busy=console.busy,
        connect_timeout=args.connect_timeout,
        first_command_timeout=args.first_command_timeout,
        idle_timeout=args.idle_timeout,
        connection_limits=limits_from_args(
            args,
            per_connection=2,  # the client's and the upstream's
            reserve=RESERVED_DESCRIPTORS,
        ),
        accelerate=capture_accelerate(),
        codec_accelerate=codec_accelerate(),
        faults=tuple(args.fault),
    )
    default_names = args.capture is None
    try:
        return run_async(
            partial(
                run,
                config,
                embedded=args.upstream is None,
                default_names=default_names,
                web=args.web,
            ),
            expected=EXPECTED,
        )
    except CommandFailed as failed:  # the upstream is the proxy itself: a usage error
        if any(isinstance(e, UpstreamLoopError) for e in leaves(failed.__cause__ or failed)):
            failed.status = 2
        raise
    finally:
        console.flush()  # the console's last lines, before any error printed after them


async def run(
    config: ProxyConfig,
    *,
    embedded: bool = False,
    default_names: bool = False,
    web: tuple[str, int] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    task_status: trio.TaskStatus[ProxyListening] = trio.TASK_STATUS_IGNORED,
) -> int:
    """Run the proxy (and the embedded reference server when ``embedded``) until a signal.

    Prints one line saying where it listens and captures. With ``default_names`` the
    capture's name came from ``default_capture`` and is replaced if it gets taken before
    the file is created. With ``web``, the web view of the capture is served there too,
    by a child process (its URL printed). Cancel it (or send SIGINT or SIGTERM) to stop:
    connections are closed and their close records written. Returns 0, or
    ``CAPTURE_INCOMPLETE`` when a capture write failed (said on ``err``, naming the file
    and the records lost).
    """
    out = out if out is not None else sys.stdout
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            upstream = ""
            if embedded:
                server: ServerAddresses = await nursery.start(
                    partial(
                        serve_reference,
                        ServerConfig(host="127.0.0.1", accelerate=codec_accelerate()),
                    )
                )
                config = dataclasses.replace(config, upstream=server.ds)
                accounts = ", ".join(f"{user} / {pw}" for user, pw in DEMO_USERS.items())
                upstream = (
                    f" (the embedded reference server: Passport nexus {server.nexus_url},"
                    f" accounts {accounts})"
                )
            listening = await start_proxy(nursery, config, default_names=default_names)
            print(
                f"msproxy listening on {listening.url}, upstream "
                f"{format_address(*config.upstream)}{upstream}, capturing to {listening.capture}",
                file=out,
                flush=True,
            )
            for number, rule in enumerate(config.faults, start=1):
                print(f"fault rule {number}: {rule}", file=out, flush=True)
            if web is not None and listening.capture is not None:
                url: str = await nursery.start(
                    partial(serve_web_process, listening.capture, web, redact=config.redact)
                )
                print(f"msproxy web view: open {url}", file=out, flush=True)
            task_status.started(listening)
            async for _ in signals:
                break
            nursery.cancel_scope.cancel()
    loss = listening.loss
    if loss is None:
        return 0
    for handler in logging.getLogger().handlers:
        handler.flush()  # the console's last lines first (written from a thread)
    print(f"msproxy: {loss.summary()}", file=err if err is not None else sys.stderr, flush=True)
    return CAPTURE_INCOMPLETE
