"""Speed of ``msproxy import`` (and ``export``) on a generated multi-MB pcap.

    .venv/bin/python scripts/bench/interchange.py [--connections 20] [--commands 2000]

Makes a capture of CONNECTIONS switchboard connections, each a login then COMMANDS client
messages (text MSG payloads of 60-400 bytes) and their ACKs, then a pcap of it with
``export_capture`` (segments of at most 1460 bytes, acknowledged), and imports it. The
baseline, in the same run, is reading the pcap's TCP segments with dpkt alone (the file
format and packet headers, no reassembly, framing or records): the import's ratio to it
is what reassembly, MSNP framing and capture writing cost on top of the decoding any
import needs. Figures: MB of pcap per second, packets per second, and the ratio.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from msmgr.codec import Command
from msproxy.capture import CaptureWriter, close_record, command_record, open_record
from msproxy.interchange import export_capture, import_pcaps
from msproxy.interchange.pcapfile import ReadStats, read_segments


def make_capture(path: Path, connections: int, commands: int, seed: int = 1) -> int:
    """Write the capture; the number of command records."""
    rng = random.Random(seed)
    count = 0
    with CaptureWriter(path, tool="bench", started=1_700_000_000.0) as writer:
        t = 1_700_000_000.0
        for conn in range(1, connections + 1):
            client = f"127.0.0.1:{40000 + conn}"
            records = [
                open_record(
                    conn,
                    t,
                    role="SB",
                    client=client,
                    upstream="127.0.0.1:1865",
                    parent=None,
                    via=None,
                )
            ]
            login = Command("USR", 0, (f"user{conn}@example.com", f"{conn}.1700000000.1"))
            ok = Command("USR", 0, ("OK", f"user{conn}@example.com", "User"))
            records.append(command_record(conn, "c2s", _raw(login), t))
            records.append(command_record(conn, "s2c", _raw(ok), t))
            count += 2
            for trid in range(1, commands + 1):
                t += 0.0001
                size = rng.randint(60, 400)
                body = b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + bytes(
                    rng.choice(b"abcdefghij klmnopqrstuvwxyz") for _ in range(size)
                )
                msg = Command("MSG", trid, ("A",), body)
                ack = Command("ACK", trid)
                records.append(command_record(conn, "c2s", _raw(msg), t))
                records.append(command_record(conn, "s2c", _raw(ack), t + 0.00005))
                count += 2
            records.append(close_record(conn, "client", "end of stream", t + 0.001))
            writer.write_many(records)
    return count


def _raw(command: Command) -> Command:
    return Command(command.verb, command.trid, command.args, command.payload, command.to_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description="msproxy import speed on a generated pcap")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--commands", type=int, default=2000, help="client messages per connection")
    parser.add_argument("--rounds", type=int, default=3, help="best of ROUNDS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        capture = work / "generated.jsonl"
        records = make_capture(capture, args.connections, args.commands)
        pcap = work / "generated.pcap"
        started = time.perf_counter()
        stats = export_capture(capture, pcap)
        exported = time.perf_counter() - started
        size = pcap.stat().st_size
        mb = size / 1e6
        print(f"capture: {records:,} commands, {args.connections} connections")
        print(f"pcap: {mb:.1f} MB, {stats.packets:,} packets (export {mb / exported:.1f} MB/s)")
        base, full = [], []
        for round_ in range(args.rounds):
            started = time.perf_counter()
            with open(pcap, "rb") as stream:
                segments = sum(1 for _ in read_segments(stream, ReadStats()))
            base.append(time.perf_counter() - started)
            out = work / f"import-{round_}.jsonl"
            started = time.perf_counter()
            result = import_pcaps([pcap], out)
            full.append(time.perf_counter() - started)
            out.unlink()
        assert segments == stats.packets
        assert result.records >= records, (result.records, records)
        b, f = min(base), min(full)
        print(f"dpkt alone: {mb / b:.1f} MB/s, {segments / b:,.0f} packets/s")
        print(f"import: {mb / f:.1f} MB/s, {segments / f:,.0f} packets/s")
        print(f"ratios import/dpkt: time {f / b:.2f}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak RSS of this process: {rss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
