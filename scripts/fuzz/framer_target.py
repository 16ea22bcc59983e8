"""scripts/fuzz/framer_target: atheris target for the codec's ``Framer``
(what it holds: ``checks.framer_case``).

Run by ``scripts/fuzz/run.py``; alone: ``python scripts/fuzz/framer_target.py -max_total_time=60``.
"""

from __future__ import annotations

import sys

import atheris
from atheris.import_hook import instrument_imports

# Only our code is instrumented (trio and the rest the inspect package imports are not
# what is fuzzed, and instrumenting them doubles the start-up).
with instrument_imports(include=["checks", "msmgr", "msproxy.capture", "msproxy.inspect"]):
    from checks import framer_case  # (this folder is sys.path[0])


def main() -> None:
    """Run the fuzzer with libFuzzer's command line (``-max_total_time=N`` and so on)."""
    atheris.Setup(sys.argv, framer_case)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
