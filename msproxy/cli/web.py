"""msproxy web: show captures in a browser (sessions, ladders, details), as they grow.

Serves one page, on 127.0.0.1 and a free port by default, for the given capture files
(several at once: one sessions list); files still being written are followed. The URL
printed at start carries a random token: the page refuses any request without it. Only
redacted data reaches the browser unless --no-redact (secrets a capture still holds are
replaced as the proxy replaces them).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import trio

from msmgr.cli.entry import listen_address_arg, run_async
from msmgr.codec.address import format_address
from msmgr.logsetup import configure_logging
from msproxy.inspect.clitools import fail

if TYPE_CHECKING:  # imported when serving: every msproxy command imports this module
    from msproxy.web.serve import WebListening
    from msproxy.web.store import WebStore

logger = logging.getLogger(__name__)

DEFAULT_WEB = ("127.0.0.1", 0)
CHILD_NICENESS = 10
"""How much lower ``run --web``'s web view runs than the proxy (``nice``): on a busy
machine the proxy gets the CPU first, and the page lags behind instead."""


def web_address_arg(text: str) -> tuple[str, int]:
    """``type=`` for the web view's ``HOST[:PORT]`` (port 0 or none: any free port)."""
    bare = text.endswith("]") or ":" not in text
    return listen_address_arg(text + ":0" if bare else text)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``web`` sub-command."""
    parser = subparsers.add_parser(
        "web",
        help="show captures in a browser: sessions, ladders, details",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("capture", nargs="+", help="capture files (JSON Lines)")
    parser.add_argument(
        "--listen",
        type=web_address_arg,
        default=DEFAULT_WEB,
        metavar="HOST[:PORT]",
        help="where the page is served (default 127.0.0.1 and a free port)",
    )
    parser.add_argument(
        "--no-redact", action="store_true", help="show secrets a capture holds (hashes, tickets)"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    # msproxy run --web starts msproxy web as its child: it stops when its stdin closes,
    # and yields the CPU to the proxy (a lower scheduling priority).
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(run=main)


def main(args: argparse.Namespace) -> int:
    """Serve the page until SIGINT/SIGTERM; 0 on a clean stop, 1 when it cannot listen,
    2 for a capture file that is not there."""
    configure_logging(args.verbose)
    missing = [path for path in args.capture if not os.path.isfile(path)]
    if missing:
        return fail("web", f"no such capture file: {', '.join(missing)}")
    if args.child and hasattr(os, "nice"):
        os.nice(CHILD_NICENESS)
    from msproxy.web.store import WebStore  # (lazily: see the imports)

    store = WebStore(redact=not args.no_redact)
    for path in args.capture:
        store.follow(path)
    return run_async(partial(run, store, args.listen, stdin_closes=args.child))


async def run(
    store: WebStore,
    address: tuple[str, int],
    *,
    stdin_closes: bool = False,
    out: TextIO | None = None,
    task_status: trio.TaskStatus[WebListening] = trio.TASK_STATUS_IGNORED,
) -> int:
    """Serve ``store``'s page on ``address`` until a signal (or cancelled, or with
    ``stdin_closes`` until standard input ends); print its URL."""
    from msproxy.web.serve import serve_web  # (lazily: see the imports)

    out = out if out is not None else sys.stdout
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            listening: WebListening = await nursery.start(serve_web, store, address)
            print(f"msproxy web: open {listening.url}", file=out, flush=True)
            task_status.started(listening)
            if stdin_closes:
                nursery.start_soon(_cancel_at_eof, nursery.cancel_scope)
            async for _ in signals:
                break
            nursery.cancel_scope.cancel()
    return 0


async def _cancel_at_eof(scope: trio.CancelScope) -> None:
    """Cancel ``scope`` when standard input ends (the parent closed it, or died)."""
    stream = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    async with stream:
        while await stream.receive_some():
            pass
    scope.cancel()


async def serve_web_process(
    capture: Path,
    address: tuple[str, int],
    *,
    redact: bool = True,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``msproxy web`` for ``capture`` in a child process until cancelled (it stops
    when this process closes its stdin, or dies); report its URL once it listens.

    A process of its own, at a lower priority, so that reading the capture and answering
    the browser never take the proxy's event loop, and on a busy machine give it the CPU.

    Raises:
        OSError: the child could not start, or ended before printing its URL.
    """
    argv = [sys.executable, "-m", "msproxy", "web", os.fspath(capture), "--child"]
    argv += ["--listen", format_address(*address)] + ([] if redact else ["--no-redact"])
    async with trio.open_nursery() as nursery:
        process: trio.Process = await nursery.start(
            partial(
                trio.run_process, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, check=False
            )
        )
        assert process.stdout is not None
        line = await _first_line(process.stdout)
        found = re.search(r"open (\S+)", line)
        if found is None:
            raise OSError(f"msproxy web did not start: {line.strip() or 'no output'}")
        task_status.started(found.group(1))
        nursery.start_soon(_discard, process.stdout)
    if process.returncode not in (0, None):
        logger.warning("the web view stopped (exit status %s)", process.returncode)


async def _first_line(stream: trio.abc.ReceiveStream) -> str:
    data = b""
    while b"\n" not in data:
        chunk = await stream.receive_some()
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").partition("\n")[0]


async def _discard(stream: trio.abc.ReceiveStream) -> None:
    while await stream.receive_some():
        pass
