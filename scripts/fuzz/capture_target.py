"""scripts/fuzz/capture_target: atheris target for the capture reader
(what it holds: ``checks.capture_case``).

Run by ``scripts/fuzz/run.py``; alone: ``python scripts/fuzz/capture_target.py -max_total_time=60``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import atheris
from atheris.import_hook import instrument_imports

# Only our code is instrumented (trio and the rest the inspect package imports are not
# what is fuzzed, and instrumenting them doubles the start-up).
with instrument_imports(include=["checks", "msmgr", "msproxy.capture", "msproxy.inspect"]):
    from checks import capture_case  # (this folder is sys.path[0])


def main() -> None:
    """Run the fuzzer with libFuzzer's command line (``-max_total_time=N`` and so on)."""
    logging.disable(logging.WARNING)  # the torn-line warning, on every other case
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="msproxy-fuzz-", dir=folder) as tmp:
        path = Path(tmp) / "capture.jsonl"
        atheris.Setup(sys.argv, lambda data: capture_case(data, path))
        atheris.Fuzz()


if __name__ == "__main__":
    main()
