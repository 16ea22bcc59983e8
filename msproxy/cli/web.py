"""msproxy web: show captures in a browser (sessions, ladders, details), as they grow.

Serves one page, on 127.0.0.1 and a free port by default, for the given capture files
(several at once: one sessions list); files still being written are followed. The URL
printed at start carries a random token: the page refuses any request without it. Only
redacted data reaches the browser unless --no-redact (secrets a capture still holds are
replaced as the proxy replaces them).
"""

from __future__ import annotations

import argparse
import signal
import sys
from functools import partial
from typing import TextIO

import trio

from msmgr.cli.entry import listen_address_arg, run_async
from msmgr.logsetup import configure_logging
from msproxy.web.serve import WebListening, serve_web
from msproxy.web.store import WebStore

DEFAULT_WEB = ("127.0.0.1", 0)


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
    parser.set_defaults(run=main)


def main(args: argparse.Namespace) -> int:
    """Serve the page until SIGINT/SIGTERM; 0 on a clean stop, 1 when it cannot start."""
    configure_logging(args.verbose)
    store = WebStore(redact=not args.no_redact)
    for path in args.capture:
        store.follow(path)
    return run_async(partial(run, store, args.listen))


async def run(
    store: WebStore,
    address: tuple[str, int],
    *,
    out: TextIO | None = None,
    task_status: trio.TaskStatus[WebListening] = trio.TASK_STATUS_IGNORED,
) -> int:
    """Serve ``store``'s page on ``address`` until a signal (or cancelled); print its URL."""
    out = out if out is not None else sys.stdout
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            listening: WebListening = await nursery.start(serve_web, store, address)
            print(f"msproxy web: open {listening.url}", file=out, flush=True)
            task_status.started(listening)
            async for _ in signals:
                break
            nursery.cancel_scope.cancel()
    return 0
