"""scripts/bench/interchange.py still runs, on a tiny workload, and prints its figures
(which are not checked: timing belongs to the benchmark)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_interchange_bench_reports_import_against_dpkt() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench" / "interchange.py"),
            "--connections",
            "2",
            "--commands",
            "50",
            "--rounds",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "capture: 204 commands, 2 connections" in out
    assert re.search(r"^import: [\d.]+ MB/s, [\d,]+ packets/s$", out, re.MULTILINE), out
    assert re.search(r"^ratios import/dpkt: time [\d.]+$", out, re.MULTILINE), out
