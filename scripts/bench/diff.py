"""Benchmark: ``msproxy diff`` on large captures, against the cost of merely reading them.

Generates a capture of N commands (an NS per account with presence, state changes,
pings and challenges, and switchboards with text messages, from eight accounts or
``--accounts``: more accounts spread the same commands over more, smaller connections),
and a
changed copy: another run of the same session (TrIDs shifted, switchboard addresses
changed), with a few messages edited, commands deleted and inserted, and server
notifications moved by one place. Then it times:

- ``floor``: ``json.loads`` of every line of both files, what any reader pays;
- ``diff_files(A, B)``, the library on the two files;
- ``msproxy diff A A`` and ``msproxy diff A B``, the whole command in a child process
  (so that its peak RSS is its own);
- with ``--in-memory``: ``load_capture`` of both and ``diff_captures`` on them.

Each figure is printed in seconds and as a ratio to the floor of the same run.

Usage: python scripts/bench/diff.py [--commands N] [--accounts A] [--edits E] [--keep DIR]
    [--in-memory]
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from msmgr.codec import Command
from msproxy.capture import command_record, header_record, open_record
from msproxy.inspect import diff_captures, load_capture
from msproxy.inspect.diff import diff_files

ACCOUNTS = 8
STARTED = 1700000000.0


def _text(rng: random.Random, n: int) -> bytes:
    words = ["hello", "there", "how", "are", "you", "fine", "thanks", "see", "ya", "ok"]
    body = " ".join(rng.choice(words) for _ in range(rng.randint(2, 12))) + f" #{n}"
    head = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
    return (head + body).encode()


def generate(commands: int, seed: int = 1, accounts: int = ACCOUNTS) -> list[dict[str, Any]]:
    """A capture (records, header first) of about ``commands`` commands from ``accounts``
    accounts, one after the other."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = [header_record(STARTED, "bench", version=1)]
    t = STARTED
    conn = 0
    count = 0

    def cmd(c: int, direction: str, command: Command) -> None:
        nonlocal t, count
        t += 0.001
        count += 1
        out.append(command_record(c, direction, command, round(t, 3)))

    per_account = commands // accounts
    for a in range(accounts):
        handle = f"user{a}@example.com"
        conn += 1
        ns = conn
        out.append(
            open_record(
                ns,
                t,
                role="NS",
                client="127.0.0.1:5000",
                upstream="10.0.0.1:1863",
                parent=None,
                via=None,
            )
        )
        trid = 1
        cmd(ns, "c2s", Command("VER", trid, ("MSNP7", "CVR0")))
        cmd(ns, "s2c", Command("VER", trid, ("MSNP7",)))
        trid += 1
        cmd(ns, "c2s", Command("USR", trid, ("MD5", "I", handle)))
        cmd(ns, "s2c", Command("USR", trid, ("MD5", "S", "1013928519.693957190")))
        trid += 1
        cmd(ns, "c2s", Command("USR", trid, ("MD5", "S", "<redacted:5e0c7d1a9b44>")))
        cmd(ns, "s2c", Command("USR", trid, ("OK", handle, "Name")))
        limit = count + per_account
        while count < limit:
            r = rng.random()
            trid += 1
            if r < 0.02:  # a switchboard session
                cmd(ns, "c2s", Command("XFR", trid, ("SB",)))
                cookie = f"{rng.randint(10**7, 10**8)}.{rng.randint(10**9, 10**10)}"
                cmd(ns, "s2c", Command("XFR", trid, ("SB", "10.0.0.2:1865", "CKI", cookie)))
                conn += 1
                sb = conn
                out.append(
                    open_record(
                        sb,
                        t,
                        role="SB",
                        client="127.0.0.1:5001",
                        upstream="10.0.0.2:1865",
                        parent=ns,
                        via="XFR",
                    )
                )
                cmd(sb, "c2s", Command("USR", 1, (handle, cookie)))
                cmd(sb, "s2c", Command("USR", 1, ("OK", handle, "Name")))
                cmd(sb, "c2s", Command("CAL", 2, (f"user{(a + 1) % accounts}@example.com",)))
                cmd(sb, "s2c", Command("CAL", 2, ("RINGING", str(rng.randint(1, 10**8)))))
                cmd(sb, "s2c", Command("JOI", None, (f"user{(a + 1) % accounts}@example.com", "N")))
                for n in range(rng.randint(5, 60)):
                    cmd(sb, "c2s", Command("MSG", 3 + n, ("N",), _text(rng, count)))
                    if rng.random() < 0.5:
                        peer = f"user{(a + 1) % accounts}@example.com"
                        cmd(sb, "s2c", Command("MSG", None, (peer, "N"), _text(rng, count)))
                cmd(sb, "c2s", Command("OUT"))
            elif r < 0.40:
                who = f"user{rng.randrange(accounts)}@example.com"
                cmd(ns, "s2c", Command("NLN", None, (rng.choice(["NLN", "AWY", "BSY"]), who, "N")))
            elif r < 0.55:
                cmd(ns, "c2s", Command("PNG"))
                cmd(ns, "s2c", Command("QNG"))
            elif r < 0.60:
                cmd(ns, "s2c", Command("CHL", 0, (str(rng.randint(10**19, 10**20)),)))
                trid += 1
                cmd(ns, "c2s", Command("QRY", trid, ("msmsgs@msnmsgr.com",), b"a" * 32))
                cmd(ns, "s2c", Command("QRY", trid))
            else:
                state = rng.choice(["NLN", "AWY", "BSY", "IDL"])
                cmd(ns, "c2s", Command("CHG", trid, (state, "0")))
                cmd(ns, "s2c", Command("CHG", trid, (state, "0")))
        cmd(ns, "c2s", Command("OUT"))
    return out


def changed_copy(records: list[dict[str, Any]], edits: int, seed: int = 2) -> list[dict[str, Any]]:
    """Another run of the same session with ``edits`` changes of each kind."""
    rng = random.Random(seed)
    out = []
    for record in records:
        if record.get("type") == "cmd":
            record = dict(record)
            if isinstance(record.get("trid"), int) and record["trid"]:
                record["trid"] += 100
            if record["cmd"] == "XFR" and len(record["args"]) > 1:
                record["args"] = [*record["args"][:1], "10.9.9.9:1865", *record["args"][2:]]
        out.append(record)
    cmds = [i for i, r in enumerate(out) if r.get("type") == "cmd"]
    messages = [i for i in cmds if out[i]["cmd"] == "MSG"]
    for i in rng.sample(messages, min(edits, len(messages))):  # edited messages
        out[i] = {**out[i], "payload": out[i]["payload"] + " (edited)"}
    notifications = [i for i in cmds[:-1] if out[i]["cmd"] == "NLN"]
    for i in rng.sample(notifications, min(edits, len(notifications))):  # moved by one
        if out[i + 1].get("conn") == out[i]["conn"]:
            out[i], out[i + 1] = out[i + 1], out[i]
    doomed = set(rng.sample(cmds, min(edits, len(cmds))))  # deleted
    out = [r for i, r in enumerate(out) if i not in doomed]
    for _ in range(edits):  # inserted
        i = rng.randrange(2, len(out))
        if out[i].get("type") == "cmd":
            extra = command_record(out[i]["conn"], "s2c", Command("BPR", None, ("MOB", "Y")), 0)
            out.insert(i, {**extra, "t": out[i]["t"]})
    return out


def write(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.writelines(json.dumps(r, separators=(",", ":")) + "\n" for r in records)


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def floor(*paths: Path) -> int:
    """What any reader pays: ``json.loads`` of every line (returns the line count)."""
    count = 0
    for path in paths:
        with path.open("rb") as file:
            for line in file:
                json.loads(line)
                count += 1
    return count


def cli(*args: str) -> tuple[float, int, float]:
    """(seconds, exit status, peak RSS in MiB) of ``msproxy diff -q ARGS`` in a child.

    The peak is the child's own ``VmHWM`` (``ru_maxrss`` would carry over the parent's
    resident size at fork across the exec)."""
    code = (
        "import re, sys\n"
        "from msproxy.__main__ import main\n"
        "status = main(['diff', '-q', *sys.argv[1:]])\n"
        "status_file = open('/proc/self/status').read()\n"
        "peak = re.search(r'VmHWM:\\s+(\\d+)', status_file).group(1)\n"
        "print(status, peak, file=sys.stderr)\n"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    status, peak = result.stderr.split()[-2:]
    return seconds, int(status), int(peak) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=600_000)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS, help="NS connections (8)")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="write the captures here and keep them")
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="also time load_capture + diff_captures (all records in memory)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        a_path, b_path = folder / "a.jsonl", folder / "b.jsonl"
        records = generate(args.commands, accounts=args.accounts)
        write(a_path, records)
        write(b_path, changed_copy(records, args.edits))
        del records
        size = a_path.stat().st_size / 2**20
        t_floor, lines = timed(functools.partial(floor, a_path, b_path))
        print(
            f"captures: {lines:,} lines in both, {size:.1f} MiB each, {args.accounts} accounts; "
            f"the copy has {args.edits} edits of each kind"
        )
        print(f"floor (json.loads of every line of both): {t_floor:.2f} s")
        t_files, diffs = timed(functools.partial(diff_files, a_path, b_path))
        shown = sum(d.removed + d.added for d in diffs)
        print(
            f"diff_files(A, B): {t_files:.2f} s, ratio to floor {t_files / t_floor:.2f}, "
            f"{len(diffs)} connections differ, {shown} lines"
        )
        for name, pair in (("A A", (a_path, a_path)), ("A B", (a_path, b_path))):
            seconds, status, rss = cli(*map(str, pair))
            print(
                f"msproxy diff {name}: {seconds:.2f} s, ratio to floor {seconds / t_floor:.2f}, "
                f"exit {status}, peak RSS {rss:.0f} MiB"
            )
        if args.in_memory:
            t_load, (a, b) = timed(lambda: (load_capture(a_path), load_capture(b_path)))
            t_self, same = timed(functools.partial(diff_captures, a, a))
            t_changed, _ = timed(functools.partial(diff_captures, a, b))
            assert same == [], "a capture differs from itself"
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"in memory: load_capture both {t_load:.2f} s, diff_captures(A, A) "
                f"{t_self:.2f} s, diff_captures(A, B) {t_changed:.2f} s, peak RSS {peak:.0f} MiB"
            )


if __name__ == "__main__":
    main()
