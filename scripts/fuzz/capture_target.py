"""scripts/fuzz/capture_target: atheris target for the capture reader.

What it holds, for any file contents: reading a capture (``load_capture``, which
streams ``read_capture``, expanding ``run`` records) and rebuilding the bytes of every
record raise nothing but ``CaptureFormatError``: a malformed file is refused with a
message, never with a traceback.

Run by ``scripts/fuzz/run.py``; alone: ``python scripts/fuzz/capture_target.py -max_total_time=60``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

import atheris
from atheris.import_hook import instrument_imports

with instrument_imports():
    from msproxy.capture.format import CaptureFormatError, rebuild
    from msproxy.inspect.model import load_capture

_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None
_FD, PATH = tempfile.mkstemp(prefix="msproxy-fuzz-", suffix=".jsonl", dir=_DIR)


def test_one_input(data: bytes) -> None:
    """One fuzz case: ``data`` is the whole capture file."""
    with open(PATH, "wb") as file:
        file.write(data)
    try:
        capture = load_capture(PATH)
        for record in capture.records:
            rebuild(record)
    except CaptureFormatError:
        pass


def main() -> None:
    """Run the fuzzer with libFuzzer's command line (``-max_total_time=N`` and so on)."""
    logging.disable(logging.WARNING)  # the torn-line warning, on every other case
    try:
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
    finally:
        os.close(_FD)
        os.unlink(PATH)


if __name__ == "__main__":
    main()
