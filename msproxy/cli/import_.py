"""``msproxy import``: packet captures (pcap, pcapng) of MSN traffic -> a capture."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tqdm import tqdm

from msproxy.inspect.clitools import fail
from msproxy.interchange import import_pcaps
from msproxy.interchange.pcapfile import PcapError


def register(subparsers: Any) -> None:
    """Add the ``import`` sub-command."""
    parser = subparsers.add_parser(
        "import",
        help="make a capture of the MSNP connections in pcap/pcapng files",
        description=(
            "Read packet captures (pcap or pcapng, as tcpdump and Wireshark write them), "
            "reassemble their TCP connections, find the MSNP ones by content (any port) and "
            "write them to a new capture, as the proxy would have recorded them. Login "
            "secrets are redacted unless --no-redact."
        ),
    )
    parser.add_argument("files", metavar="FILE", nargs="+", help="pcap or pcapng files, in order")
    parser.add_argument(
        "-o", "--output", required=True, metavar="CAPTURE", help="the capture to create"
    )
    parser.add_argument(
        "--port",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="only connections with one end on port N (repeatable); its other end is the "
        "client when no login line says so",
    )
    parser.add_argument(
        "--no-redact", action="store_true", help="keep login secrets in the capture"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Import; 0 on success, 2 when a file cannot be read or the output not written."""
    total = 0
    for name in args.files:
        try:
            total += os.path.getsize(name)
        except OSError as exc:
            return fail("import", f"cannot read {name}: {exc.strerror or exc}")
    bar = tqdm(total=total, unit="B", unit_scale=True, disable=not sys.stderr.isatty(), leave=False)
    try:
        with bar:
            stats = import_pcaps(
                args.files,
                args.output,
                ports=args.port,
                redact=not args.no_redact,
                progress=lambda done: bar.update(done - bar.n),
            )
    except PcapError as exc:
        return fail("import", str(exc))
    except OSError as exc:
        return fail("import", f"{exc.filename or ''}: {exc.strerror or exc}")
    skipped = sum(stats.read.skipped.values())
    print(
        f"{stats.msnp_connections} MSNP connections of {stats.tcp_connections} TCP connections, "
        f"{stats.records} records from {stats.read.packets} packets ({skipped} skipped) "
        f"-> {args.output}",
        file=sys.stderr,
    )
    return 0
