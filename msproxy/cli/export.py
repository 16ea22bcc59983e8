"""``msproxy export``: a capture -> a pcap file that Wireshark opens."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from msproxy.capture import CaptureFormatError
from msproxy.inspect.clitools import capture_parser, fail
from msproxy.interchange import export_capture


def register(subparsers: Any) -> None:
    """Add the ``export`` sub-command."""
    parser = capture_parser(
        subparsers,
        "export",
        brief="write a capture as a pcap file (synthetic TCP/IP packets) for Wireshark",
        description=(
            "Write every connection of CAPTURE as TCP/IP packets (handshake, sequence "
            "numbers, FIN) carrying its recorded bytes at the recorded times, between its "
            "recorded addresses (made-up ones where the capture has none). Wireshark decodes "
            "them with its MSNMS dissector (Decode As on ports other than 1863)."
        ),
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the pcap to create")
    parser.add_argument(
        "--as-received",
        action="store_true",
        help="the bytes each side received (redirects as the proxy rewrote them), not sent",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export; 0 on success, 2 on a bad capture or an output that cannot be created."""
    try:
        stats = export_capture(args.capture, args.output, as_received=args.as_received)
    except CaptureFormatError as exc:
        return fail("export", str(exc))
    except OSError as exc:
        return fail("export", f"{exc.filename or ''}: {exc.strerror or exc}")
    note = f" (made-up addresses for {len(stats.made_up)})" if stats.made_up else ""
    print(
        f"{stats.connections} connections, {stats.packets} packets -> {args.output}{note}",
        file=sys.stderr,
    )
    return 0
