"""scripts/fuzz/injector_target: atheris target for the fault injector
(what it holds: ``checks.injector_case``).

Run by ``scripts/fuzz/run.py``; alone:
``python scripts/fuzz/injector_target.py -max_total_time=60``.
"""

from __future__ import annotations

import sys

import atheris
from atheris.import_hook import instrument_imports

# Only our code is instrumented (see framer_target).
with instrument_imports(include=["checks", "msmgr", "msproxy.faults", "msproxy.capture"]):
    from checks import injector_case  # (this folder is sys.path[0])


def main() -> None:
    """Run the fuzzer with libFuzzer's command line (``-max_total_time=N`` and so on)."""
    atheris.Setup(sys.argv, injector_case)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
