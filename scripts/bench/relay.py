"""Benchmark: msproxy (parsing + capture) against byte relays, mitmproxy's TCP mode and
another source tree's msproxy, all in the same run.

    .venv/bin/python scripts/bench/relay.py [--commands 200000] [--pings 2000] [--rounds 3]
        [--idle 2000] [--no-capture] [--capture-version 1|2]
        [--baseline-tree PATH] [--mitmdump PATH | --no-mitmdump] [--web] [--no-console]

Over loopback, for each relay: pipelined throughput (commands/s, MB/s) of a realistic
client command mix, the same for a server command mix (``s2c``: the direction the proxy
frames before forwarding, for its redirect rewrites), the relay process's CPU time per
command of each (user + system, every thread: ``relay cpu``) and of its main thread,
where its event loop runs (``loop cpu``), and ping-pong round-trip latency per command
(median, p99). Each relay's best round is printed, then the ratios between relays.

The relays:

- ``plain``: a trio byte relay with the proxy's receive size, no parsing: the floor.
- ``tee`` (with a capture, the default): the plain relay appending every byte it relays
  to a file, handled like the proxy's capture file. It is what recording costs at the
  least, so ``msproxy/tee`` shows what framing and the capture format cost on top.
- ``msproxy``: ``msproxy run -q`` of this source tree, capturing (format
  ``--capture-version``). With ``--no-capture``, msproxy's ``serve_proxy`` without a
  capture in a helper process instead (``msproxy run`` always captures).
- ``baseline`` (``--baseline-tree PATH``): ``msproxy run -q`` of another source tree
  (say, a checkout of main with its extensions built), run by PATH/.venv/bin/python
  when it exists (else this interpreter) with PATH first on ``sys.path``; the bench
  checks that msmgr and msproxy are imported from PATH and prints the C extensions each
  msproxy process loaded from its tree. ``ratios msproxy/baseline`` compares this tree
  with that one, before and after a change, in one run. It needs a capture.
- ``web`` (``--web``): ``msproxy run -q --web`` of this source tree, with one browser
  (headless Chromium driven by selenium, the test extra's) showing the page of the
  chosen session as it grows: ``ratios msproxy/web`` is what a watching browser costs
  the relay. It needs a capture, Chromium and chromedriver.
- ``console`` and ``con-pipe`` (unless ``--no-console``): ``msproxy run`` of this tree
  with its default console (commands, opens and closes), written to a file
  (``console``) or to a pipe this script reads slowly (``con-pipe``: 64 KiB every 0.1
  s, a slow terminal); ``ratios console/msproxy`` is what the default console costs
  against ``-q`` (issue 15's goal: at least 0.5x), and the bench says how many lines the
  console wrote and how many commands it said it did not show.
- ``mitmproxy``: mitmproxy's TCP mode, ``mitmdump --mode reverse:tcp://...``, quiet, its
  configuration in a temporary directory. mitmproxy is not a dependency of this project:
  give its ``mitmdump`` with ``--mitmdump PATH``, or have it on PATH (``--no-mitmdump``
  leaves it out). To install it apart from the project:
  ``python3 -m venv ~/mitm-venv && ~/mitm-venv/bin/pip install mitmproxy``, then
  ``--mitmdump ~/mitm-venv/bin/mitmdump``.

The environment is passed on, so ``MSPROXY_PURE_PYTHON=1`` / ``MSMGR_PURE_PYTHON=1`` reach
each ``msproxy run`` (this tree's and the baseline's) as they would from a shell.

Where cores are free, a relay's rate is bounded by its busiest thread: for msproxy, the
event loop (receive, frame, forward) or the capture writer's worker thread (encode,
write; about ``relay cpu`` minus ``loop cpu``); the plain relay has only its loop. On a
machine whose cores are all busy, the whole process's CPU per command decides instead.

The upstream (a sink that counts what it gets and sends the server mix on request), each
relay and the load client are separate child processes of this script, so no two of
them share an event loop. Children report their ports on stdout; all are stopped on exit
or error (helpers when their stdin closes, ``msproxy run`` and ``mitmdump`` by SIGINT,
any of them killed if it lingers, and sent SIGTERM by the kernel if this script dies).
Rounds alternate between the relays, every other round in reverse order; the best
round of each is kept (on a shared machine the best is the least disturbed).

Then, unless ``--idle 0``, the memory each idle proxied connection costs msproxy: its
RSS before and after N clients log in through it (N capped by RLIMIT_NOFILE, raised to
its hard limit first). Last, the number of commands in msproxy's capture.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from relaybench.byterelays import relay_child
from relaybench.load import helper_clients, helper_load
from relaybench.procinfo import raise_nofile
from relaybench.rounds import compare, idle_memory
from relaybench.upstream import helper_server, helper_sink
from relaybench.workload import command_mix, server_mix

from msproxy.capture import FORMAT_VERSION, VERSIONS, read_capture


def main(args: argparse.Namespace) -> None:
    """Run the rounds, the idle check and the capture count; print everything."""
    # Ctrl-C and SIGTERM unwind through the ``finally``s that stop the children (a
    # background job may inherit SIGINT ignored; SIGTERM would otherwise skip them).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    limit = raise_nofile()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        capture = workdir / "bench.jsonl" if args.capture else None
        compare(args, workdir, capture)
        if args.idle:
            count = min(args.idle, (limit - 64) // 2)
            if count < args.idle:
                print(f"(RLIMIT_NOFILE {limit}: {count} idle connections, not {args.idle})")
            idle_capture = workdir / "idle.jsonl" if args.capture else None
            per, opened = idle_memory(args, idle_capture, count)
            if opened != count:
                print(f"(only {opened} of {count} connections opened)")
            print(f"idle connections ({count:,}): proxy RSS {per:.1f} KiB per connection")
        if capture is not None:
            records = sum(1 for r in read_capture(capture) if r["type"] == "cmd")
            size = capture.stat().st_size
            relayed = args.rounds * (
                len(command_mix(args.commands)[0]) + len(server_mix(args.commands)[0])
            )
            print(
                f"capture: {records:,} commands, {size / 1e6:.1f} MB"
                f" ({size / relayed:.2f} bytes per byte of the throughput phases)"
            )


def parse_args() -> argparse.Namespace:
    """The command line (and the hidden ``--helper`` options of the child processes)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--commands", type=int, default=200_000)
    parser.add_argument("--pings", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best kept)")
    parser.add_argument("--idle", type=int, default=2000, help="idle connections (0: skip)")
    parser.add_argument(
        "--capture", action=argparse.BooleanOptionalAction, default=True, help="capture to a file"
    )
    parser.add_argument(
        "--capture-version",
        type=int,
        choices=VERSIONS,
        default=FORMAT_VERSION,
        help=f"capture format version (default {FORMAT_VERSION})",
    )
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        metavar="PATH",
        help="also measure msproxy run of this source tree (its .venv if it has one)",
    )
    parser.add_argument(
        "--console",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure msproxy run with its default console (to a file, to a slow pipe)",
    )
    parser.add_argument(
        "--web",
        action="store_true",
        help="also measure msproxy run --web with a headless browser showing its page",
    )
    mitm = parser.add_mutually_exclusive_group()
    mitm.add_argument(
        "--mitmdump", metavar="PATH", help="mitmproxy's mitmdump (default: found on PATH)"
    )
    mitm.add_argument("--no-mitmdump", action="store_true", help="leave mitmproxy out")
    helpers = ["server", "clients", "sink", "relay", "load"]
    parser.add_argument("--helper", choices=helpers, help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=["plain", "tee", "msproxy"], help=argparse.SUPPRESS)
    parser.add_argument("--capture-path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper is not None:
        return args
    if args.baseline_tree is not None and not args.capture:
        parser.error("--baseline-tree measures msproxy run, which always captures: no --no-capture")
    if not args.capture:
        args.console = False  # (msproxy run always captures)
    if args.web and not args.capture:
        parser.error("--web measures msproxy run, which always captures: no --no-capture")
    if args.baseline_tree is not None and not args.baseline_tree.is_dir():
        parser.error(f"--baseline-tree {args.baseline_tree}: not a directory")
    if args.no_mitmdump:
        args.mitmdump = None
    elif args.mitmdump is not None:
        if shutil.which(args.mitmdump) is None:
            parser.error(f"--mitmdump {args.mitmdump}: not an executable")
    else:
        args.mitmdump = shutil.which("mitmdump")
        if args.mitmdump is None:
            print(
                "mitmproxy left out: no mitmdump on PATH (give --mitmdump PATH; to install"
                " it apart from this project: python3 -m venv ~/mitm-venv &&"
                " ~/mitm-venv/bin/pip install mitmproxy)",
                flush=True,
            )
    return args


def cli() -> None:
    """The benchmark, or one of its helper processes."""
    args = parse_args()
    upstream = ("127.0.0.1", args.port or 0)
    if args.helper == "server":
        helper_server()
    elif args.helper == "clients":
        helper_clients(args.port, args.count)
    elif args.helper == "sink":
        helper_sink(server_mix(args.commands)[0])
    elif args.helper == "relay":
        relay_child(args.kind, upstream, args.capture_path)
    elif args.helper == "load":
        helper_load(args.commands, args.pings)
    else:
        main(args)


if __name__ == "__main__":
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except RuntimeError as exc:  # a relay that cannot start, a tree that is not itself
        sys.exit(f"relay.py: error: {exc}")
