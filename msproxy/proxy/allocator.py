"""msproxy/proxy/allocator: stop glibc's malloc trading memory back and forth with the kernel.

Under load the proxy allocates and frees large buffers all the time (each chunk read,
the capture's encoded records, each batch written). glibc's self-adjusting thresholds
serve some of them with fresh ``mmap`` mappings and give the top of the heap back after
others, so the next ones are page-faulted and zeroed again. ``tune_malloc`` fixes the
thresholds: allocations below ``MMAP_THRESHOLD`` come from the heap (the proxy's own
bounds keep its big buffers below it), and up to ``TRIM_THRESHOLD`` of free memory at the
top is kept for reuse, at the price of memory kept after a burst. The measurements, and
the larger thresholds not taken: ``docs/performance.md``.

Process-wide, so library code never calls it: ``msproxy run`` does, as it configures
logging. It does nothing but on Linux with a C library that has ``mallopt`` (glibc's), and it
leaves malloc alone when the environment already tunes it (``GLIBC_TUNABLES`` naming
``glibc.malloc``, or ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Mapping

logger = logging.getLogger(__name__)

MMAP_THRESHOLD = 4 * 1024 * 1024
"""Bytes from which an allocation gets an ``mmap`` mapping of its own."""
TRIM_THRESHOLD = 32 * 1024 * 1024
"""Free bytes at the top of the heap above which malloc gives them back to the kernel."""
_M_TRIM_THRESHOLD = -1  # glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_USER_TUNING = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def tune_malloc(environ: Mapping[str, str] | None = None) -> bool:
    """Fix glibc malloc's mmap and trim thresholds (see the module); True if it did."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):  # (mallopt's thresholds are glibc's)
        return False
    if "glibc.malloc." in environ.get("GLIBC_TUNABLES", "") or any(
        name in environ for name in _USER_TUNING
    ):
        logger.debug("malloc left as the environment tunes it")
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        logger.debug("malloc not tuned: no mallopt in this C library")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # (mallopt returns 1 on success; musl has one that does nothing and returns 0)
    done: bool = int(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) == 1
    done = int(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) == 1 and done
    logger.debug("malloc thresholds %s", "fixed" if done else "not fixed: mallopt refused")
    return done
