"""msproxy demo: reference server, proxy and two clients on loopback; then the capture.

Runs msproxy.demo.run_demo, then prints the capture it wrote (as msproxy show
does) and its summary (as msproxy summary does).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial
from pathlib import Path

import trio

from msmgr.cli.entry import codec_accelerate, run_async
from msmgr.client import ClientError
from msmgr.client.errors import describe
from msmgr.logsetup import configure_logging
from msproxy.cli.run import capture_accelerate
from msproxy.demo import run_demo
from msproxy.inspect.clitools import use_color
from msproxy.inspect.model import load_capture
from msproxy.inspect.show import ShowOptions, show_lines
from msproxy.inspect.summary import format_tables, summarize
from msproxy.proxy.loss import CAPTURE_INCOMPLETE


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` sub-command."""
    parser = subparsers.add_parser(
        "demo",
        help="watch a whole MSN session through the proxy (embedded server, two clients)",
        description=__doc__,
    )
    parser.add_argument(
        "--capture",
        type=Path,
        metavar="PATH",
        help="capture file to create (default captures/demo-YYYYmmdd-HHMMSS.jsonl)",
    )
    parser.add_argument(
        "--alice-protocol", default="MSNP8", metavar="MSNPn", help="alice's client (MSNP8)"
    )
    parser.add_argument(
        "--bob-protocol", default="MSNP7", metavar="MSNPn", help="bob's client (MSNP7)"
    )
    parser.add_argument(
        "--color", choices=["auto", "always", "never"], default="auto", help="colour the capture"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.set_defaults(run=run)


def default_capture(folder: Path = Path("captures")) -> Path:
    """A new timestamped capture path under ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder / time.strftime("demo-%Y%m%d-%H%M%S.jsonl")


def capture_problem(path: Path) -> str | None:
    """Why the capture cannot be created at ``path`` (checked before anything starts), or
    None (another process may still take the name: the capture is created exclusively)."""
    folder = path.parent
    if path.exists() or path.is_symlink():
        return f"cannot create the capture {path}: File exists (the demo never overwrites one)"
    if not folder.is_dir():
        return f"cannot create the capture {path}: {folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot create the capture {path}: {folder} is not writable"
    return None


def run(args: argparse.Namespace) -> int:
    """Run the demo and print its capture; 0 on success, 1 when it cannot start, 3 when
    capture records were lost."""
    configure_logging(args.verbose)
    capture = args.capture or default_capture()
    problem = capture_problem(capture)
    if problem is not None:
        print(f"msproxy demo: error: {problem}", file=sys.stderr)
        return 1

    def say(text: str) -> None:
        print(f"* {text}", flush=True)

    result = run_async(
        partial(
            run_demo,
            capture,
            alice_protocol=args.alice_protocol,
            bob_protocol=args.bob_protocol,
            say=say,
            accelerate=capture_accelerate(),
            codec_accelerate=codec_accelerate(),
        ),
        expected=(OSError, ClientError, trio.TooSlowError),
        describe=lambda e: describe(e) if isinstance(e, ClientError) else str(e) or repr(e),
    )
    loaded = load_capture(result.capture)
    options = ShowOptions(color=use_color(args.color, sys.stdout))
    print(f"\n== The capture, {result.capture} (msproxy show {result.capture}) ==\n")
    for line in show_lines(loaded, options=options):
        print(line)
    print(f"\n== Its summary (msproxy summary {result.capture}) ==\n")
    sys.stdout.write(format_tables(summarize(loaded)))
    if result.loss is not None:
        print(f"msproxy demo: {result.loss.summary()}", file=sys.stderr, flush=True)
        return CAPTURE_INCOMPLETE
    return 0
