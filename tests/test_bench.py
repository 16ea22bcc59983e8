"""The benchmarks in scripts/bench/ still run, on a tiny workload, and report every
relay they compare (their figures are not checked: timing belongs to the benchmarks)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench"
TINY = ("--commands", "300", "--rounds", "1", "--pings", "5")
# The relay bench compares msproxy with mitmproxy when it is given a mitmdump; it is not
# a dependency of this project: set MITMDUMP to one (or have it on PATH) to test that.
MITMDUMP = os.environ.get("MITMDUMP") or shutil.which("mitmdump")


def run_bench(
    script: str, *args: str, env: dict[str, str] | None = None, status: int = 0
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    said = f"{script} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    assert result.returncode == status, said
    return result


def figures_line(out: str, relay: str) -> str:
    """The line of a relay's figures, checked to hold its CPU per command both ways."""
    line = re.search(rf"^\s*{relay}: commands/s [\d,.]+, .*$", out, re.MULTILINE)
    assert line is not None, out
    # CPU per command, of the whole relay and of its event loop's thread, both ways
    for key in ("relay cpu", "loop cpu", "s2c relay cpu", "s2c loop cpu"):
        assert re.search(rf", {key} us/command [\d.]+,", line.group(0)), line.group(0)
    return line.group(0)


def test_relay_bench_compares_plain_tee_and_msproxy() -> None:
    out = run_bench("relay.py", *TINY, "--idle", "4").stdout
    for relay in ("plain", "tee", "msproxy", "console", "con-pipe"):
        figures_line(out, relay)
    for title in ("msproxy/plain", "tee/plain", "msproxy/tee", "console/msproxy"):
        assert f"ratios {title}: commands/s " in out, out
    assert re.search(r"p99 [\d.]+x the plain relay's", out), out
    # The default console wrote its lines (all or some, and said what it did not show)
    assert re.search(r"^console \(to a file\): [1-9][\d,]* lines, ", out, re.MULTILINE), out
    assert re.search(r"^idle connections \(4\): proxy RSS [\d.]+ KiB", out, re.MULTILINE), out
    # The capture holds every command of both throughput phases (300 each way), plus the
    # VER, END, SND and OUT exchanges around them and the pings.
    match = re.search(r"^capture: ([\d,]+) commands", out, re.MULTILINE)
    assert match is not None, out
    assert int(match.group(1).replace(",", "")) >= 600


def test_relay_bench_without_capture_has_no_tee(tmp_path: Path) -> None:
    # With no mitmdump to be found on PATH, mitmproxy is left out, saying so.
    env = {**os.environ, "PATH": str(tmp_path)}
    args = ("--pings", "3", "--idle", "0", "--no-capture")
    out = run_bench("relay.py", *TINY, *args, env=env).stdout
    assert "ratios msproxy/plain: " in out, out
    assert re.search(r"^\s*msproxy is serve_proxy, no capture, from ", out, re.MULTILINE), out
    # No tee relay, no ratio of it (the trees' paths printed may hold those letters)
    assert not re.search(r"^\s*tee[: ]|[ /]tee\b", out, re.MULTILINE), out
    assert "capture:" not in out, out
    assert "mitmproxy left out: no mitmdump on PATH (give --mitmdump PATH" in out, out
    assert not re.search(r"^\s*mitmproxy(:| is)", out, re.MULTILINE), out


def test_relay_bench_compares_msproxy_with_a_baseline_tree() -> None:
    # This tree as its own baseline: the same code, run as the baseline tree's.
    args = ("--rounds", "2", "--idle", "0", "--baseline-tree", str(ROOT), "--no-mitmdump")
    out = run_bench("relay.py", *TINY, *args).stdout
    tree = re.escape(str(ROOT))
    for relay in ("msproxy", "baseline"):
        about = rf"^\s*{relay} is msproxy run -q from {tree} \(.*\) run by .*python"
        assert re.search(about, out, re.MULTILINE), out
        assert re.search(rf"^\s*{relay} loaded C extensions: ", out, re.MULTILINE), out
        figures_line(out, relay)
    ratios = re.search(r"^ratios msproxy/baseline: commands/s [\d.]+x, .*$", out, re.MULTILINE)
    assert ratios is not None, out
    for key in ("relay cpu", "s2c commands/s", "s2c relay cpu"):
        assert f", {key}" in ratios.group(0), ratios.group(0)


def test_relay_bench_refuses_a_baseline_tree_it_would_not_import(tmp_path: Path) -> None:
    # An empty folder: its interpreter (this one) imports msproxy from this tree instead.
    args = ("--idle", "0", "--baseline-tree", str(tmp_path), "--no-mitmdump")
    result = run_bench("relay.py", *TINY, *args, status=1)
    assert f"does not import msmgr and msproxy from {tmp_path}: {ROOT}" in result.stderr, result


def commands_of_mitmdumps() -> set[int]:
    """The processes running mitmproxy's TCP mode in front of some upstream."""
    found = set()
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and b"reverse:tcp://" in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
    return found


@pytest.mark.skipif(MITMDUMP is None, reason="no mitmdump: set MITMDUMP or put it on PATH")
def test_relay_bench_compares_msproxy_with_mitmproxy() -> None:
    assert MITMDUMP is not None
    before = commands_of_mitmdumps()
    out = run_bench("relay.py", *TINY, "--idle", "0", "--mitmdump", MITMDUMP).stdout
    assert re.search(r"^\s*mitmproxy is mitmdump --mode reverse:tcp -q \(", out, re.MULTILINE), out
    figures_line(out, "mitmproxy")
    ratios = re.search(r"^ratios msproxy/mitmproxy: commands/s [\d.]+x, .*$", out, re.MULTILINE)
    assert ratios is not None, out
    for key in ("relay cpu", "s2c commands/s", "s2c relay cpu"):
        assert f", {key}" in ratios.group(0), ratios.group(0)
    # mitmdump was stopped with the bench: no process of it is left
    assert commands_of_mitmdumps() <= before


def test_codec_bench_runs() -> None:
    out = run_bench("codec.py", "--commands", "200", "--repeat", "1").stdout
    for mix in ("server -> client mix: 200 commands", "client -> server mix: 200 commands"):
        assert mix in out, out
    rows = re.findall(r"^  (parse|serialise) .*?\s([\d,]+)\s+[\d.]+\s+[\d.]+$", out, re.MULTILINE)
    assert len(rows) == 8, out  # two parse rows (C, pure Python), two serialise, per mix


def test_diff_bench_times_the_library_and_the_command() -> None:
    out = run_bench("diff.py", "--commands", "300", "--edits", "3", "--in-memory").stdout
    for figure in ("diff_files(A, B)", "msproxy diff A B"):
        assert re.search(rf"^{re.escape(figure)}: [\d.]+ s, ratio to floor [\d.]+", out, re.M), out
    assert re.search(r"^msproxy diff A A: .* exit 0, peak RSS \d+ MiB$", out, re.M), out
    assert re.search(r"^msproxy diff A B: .* exit 1, peak RSS \d+ MiB$", out, re.M), out
    assert "in memory: load_capture both" in out
