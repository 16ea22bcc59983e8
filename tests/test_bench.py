"""The benchmarks in scripts/bench/ still run, on a tiny workload, and report every
relay they compare (their figures are not checked: timing belongs to the benchmarks)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench"


def run_bench(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_relay_bench_compares_plain_tee_and_msproxy() -> None:
    out = run_bench("relay.py", "--commands", "300", "--rounds", "1", "--pings", "5", "--idle", "4")
    for relay in ("plain", "tee", "msproxy"):
        line = re.search(rf"^\s*{relay}: commands/s [\d,.]+, .*$", out, re.MULTILINE)
        assert line is not None, out
        # CPU per command, of the whole relay and of its event loop's thread, both ways
        for key in ("relay cpu", "loop cpu", "s2c relay cpu", "s2c loop cpu"):
            assert re.search(rf", {key} us/command [\d.]+,", line.group(0)), line.group(0)
    for title in ("msproxy/plain", "tee/plain", "msproxy/tee"):
        assert f"ratios {title}: commands/s " in out, out
    assert re.search(r"^idle connections \(4\): proxy RSS [\d.]+ KiB", out, re.MULTILINE), out
    # The capture holds every command of both throughput phases (300 each way), plus the
    # VER, END, SND and OUT exchanges around them and the pings.
    match = re.search(r"^capture: ([\d,]+) commands", out, re.MULTILINE)
    assert match is not None, out
    assert int(match.group(1).replace(",", "")) >= 600


def test_relay_bench_without_capture_has_no_tee() -> None:
    out = run_bench(
        "relay.py",
        "--commands",
        "100",
        "--rounds",
        "1",
        "--pings",
        "3",
        "--idle",
        "0",
        "--no-capture",
    )
    assert "ratios msproxy/plain: " in out, out
    assert "tee" not in out, out
    assert "capture:" not in out, out


def test_codec_bench_runs() -> None:
    out = run_bench("codec.py", "--commands", "200", "--repeat", "1")
    for mix in ("server -> client mix: 200 commands", "client -> server mix: 200 commands"):
        assert mix in out, out
    rows = re.findall(r"^  (parse|serialise) .*?\s([\d,]+)\s+[\d.]+\s+[\d.]+$", out, re.MULTILINE)
    assert len(rows) == 8, out  # two parse rows (C, pure Python), two serialise, per mix
