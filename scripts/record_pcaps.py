"""Record the packet captures of tests/data/pcap/ with tcpdump on loopback (run as root).

    .venv/bin/python scripts/record_pcaps.py [--out tests/data/pcap]

One MSN session against the reference server (``msmgr serve``'s, in this process) on
free loopback ports: bob logs in (MSNP7, MD5) and waits, alice logs in and opens a
switchboard, invites bob, they exchange a message each and log out (the conversation of
``msproxy demo``, without the proxy). tcpdump records only the server's ports, at once
as Ethernet (``-i lo``), Linux cooked v1 and v2 (``-i any -y LINUX_SLL``/``LINUX_SLL2``);
``editcap`` then writes the Ethernet one as pcapng too. Made:

* ``session-ipv4-en10mb.pcap``, ``session-ipv4-sll.pcap``, ``session-ipv4-sll2.pcap``,
  ``session-ipv4.pcapng``: alice on MSNP8 (Passport 1.4: the nexus's HTTP is in the
  file too, and is not MSNP);
* ``session-ipv6-en10mb.pcap``: the same on ``::1`` with both on MSNP7 (no HTTP).
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import trio

from msmgr.server import ServerConfig, serve_reference
from msproxy.demo import _converse


def free_ports(host: str, count: int) -> list[int]:
    """``count`` ports free on ``host`` just now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets = [socket.socket(family, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_tcpdump(interface: str, link: str | None, ports: list[int], path: Path) -> Any:
    """tcpdump writing ``path``, once it listens."""
    rule = " or ".join(f"port {port}" for port in ports)
    command = ["tcpdump", "-i", interface, "--immediate-mode", "-U", "-s", "0", "-w", str(path)]
    if link is not None:
        command += ["-y", link]
    process = subprocess.Popen([*command, f"tcp and ({rule})"], stderr=subprocess.PIPE)
    assert process.stderr is not None
    for _ in range(5):  # "tcpdump: listening on lo, ..." (after a note on the link type)
        line = process.stderr.readline()
        if b"listening" in line:
            return process
    process.kill()
    raise SystemExit(f"tcpdump did not start: {line!r}")


async def session(host: str, ports: list[int], alice_protocol: str) -> None:
    ds, ns, sb, http = ports
    config = ServerConfig(host=host, ds_port=ds, ns_port=ns, sb_port=sb, http_port=http)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_reference, config)
        bracketed = f"[{host}]" if ":" in host else host
        options = {"server": f"{bracketed}:{ds}", "nexus_url": server.nexus_url}
        with trio.fail_after(20):
            await _converse(options, alice_protocol, "MSNP7", [], [], print)
        await trio.sleep(0.2)  # the last FINs
        nursery.cancel_scope.cancel()


def record(
    out: Path, host: str, alice_protocol: str, variants: list[tuple[str, str | None, str]]
) -> None:
    ports = free_ports(host, 4)
    dumps = [start_tcpdump(i, link, ports, out / name) for i, link, name in variants]
    try:
        trio.run(session, host, ports, alice_protocol)
        time.sleep(1.0)
    finally:
        for dump in dumps:
            dump.send_signal(signal.SIGINT)
            dump.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description="Record the packet captures of tests/data/pcap.")
    parser.add_argument("--out", type=Path, default=Path("tests/data/pcap"))
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    record(
        out,
        "127.0.0.1",
        "MSNP8",
        [
            ("lo", None, "session-ipv4-en10mb.pcap"),
            ("any", "LINUX_SLL", "session-ipv4-sll.pcap"),
            ("any", "LINUX_SLL2", "session-ipv4-sll2.pcap"),
        ],
    )
    subprocess.run(
        [
            "editcap",
            "-F",
            "pcapng",
            str(out / "session-ipv4-en10mb.pcap"),
            str(out / "session-ipv4.pcapng"),
        ],
        check=True,
    )
    record(out, "::1", "MSNP7", [("lo", None, "session-ipv6-en10mb.pcap")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
