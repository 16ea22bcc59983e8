"""scripts/fuzz/run: run the fuzz targets for a bounded time, one after the other.

    python scripts/fuzz/run.py --seconds 600              # every target, 600 s shared
    python scripts/fuzz/run.py --seconds 300 --target framer
    python scripts/fuzz/run.py --seconds 20 --runs 30         # a smoke run (the tests')

Each target (``framer``: the codec's framer, ``capture``: the capture reader,
``injector``: the proxy's fault injector) runs
under atheris (``pip install -e '.[fuzz]'``) in a process of its own, with its corpus
kept in ``--work`` (default ``.fuzz/``) between runs and seeded from the sample
captures. A failing input is written there as ``<target>/crash-*`` (or ``timeout-*``,
``oom-*``); the exit status is 1 when a target found one. What each target holds is in
``checks.py``; copy a failing input to ``tests/fuzz_found/<target>/`` and
``tests/test_fuzz.py`` checks it from then on.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from msproxy.capture.format import rebuild
from msproxy.capture.reader import read_capture

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SAMPLES = ROOT / "captures" / "samples"
TARGETS = {
    "framer": HERE / "framer_target.py",
    "capture": HERE / "capture_target.py",
    "injector": HERE / "injector_target.py",
}


def _framer_seeds() -> list[bytes]:
    """Each sample's bytes of each direction, after a setting header (see the target)."""
    seeds: list[bytes] = []
    for sample in sorted(SAMPLES.glob("*.jsonl")):
        streams = {"c2s": bytearray(), "s2c": bytearray()}
        for record in read_capture(sample):
            if record.get("type") == "cmd":
                streams[record["dir"]] += rebuild(record)
        seeds += [bytes([1, 16]) + streams["c2s"], bytes([2 * 3, 5]) + streams["s2c"]]
    return [seed for seed in seeds if len(seed) > 2]


def _seed(target: str, corpus: Path) -> None:
    if any(corpus.iterdir()):
        return
    if target == "capture":
        seeds = [sample.read_bytes() for sample in sorted(SAMPLES.glob("*.jsonl"))]
    else:  # (the framer's settings header byte picks the injector's rules too)
        seeds = _framer_seeds()
    for number, seed in enumerate(seeds):
        (corpus / f"seed-{number}").write_bytes(seed)


def run(target: str, seconds: int, work: Path, runs: int | None = None) -> int:
    """Fuzz ``target`` for ``seconds`` (or ``runs`` inputs, if fewer); the fuzzer's exit
    status (0: nothing found)."""
    folder = work / target
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    _seed(target, corpus)
    command = [
        sys.executable,
        str(TARGETS[target]),
        f"-max_total_time={seconds}",
        f"-artifact_prefix={folder}/",
        "-max_len=65536",
        "-rss_limit_mb=1024",
        *([f"-runs={runs}"] if runs is not None else []),
        str(corpus),
    ]
    print(f"fuzz {target}: {seconds} s", flush=True)
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    """Run the chosen targets, the time shared; 1 if any found a failing input."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="total time (default 60)")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    parser.add_argument("--runs", type=int, help="stop each target after this many inputs")
    parser.add_argument("--work", type=Path, default=ROOT / ".fuzz")
    args = parser.parse_args(argv)
    targets = args.target or sorted(TARGETS)
    each = max(1, args.seconds // len(targets))
    failed = [t for t in targets if run(t, each, args.work, args.runs) != 0]
    for target in failed:
        print(f"fuzz {target}: failing input in {args.work / target}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
