"""msproxy/proxy/allocator: stop glibc's malloc trading memory back and forth with the kernel.

Under load the proxy allocates and frees large buffers all the time: each chunk read (up
to ``RECEIVE_SIZE``), the capture's encoded records (about twice a chunk while they are
written), each batch written. With its default, self-adjusting thresholds glibc's
malloc serves some of them with fresh ``mmap`` mappings and gives the top of its heap
back to the kernel after others, so the next ones are page-faulted and zeroed again.
Measured with ``scripts/bench/relay.py``: the proxy took 20,000-29,000 page faults per
400,000 commands each way, against 3,500-4,400 with fixed thresholds. Its CPU per
command, in four alternating pairs of runs each: 0.78 against 0.94 us client to server
with thresholds of 16 and 128 MiB; 0.82 against 0.83 us (server to client 0.81 against
0.96) with the smaller ones below, which keep less memory; this machine's noise is
about 10% run to run.

``tune_malloc`` fixes the thresholds: allocations below ``MMAP_THRESHOLD`` come from the
heap, and up to ``TRIM_THRESHOLD`` of free memory at its top is kept for reuse. The
proxy's own bounds (``CaptureSink`` high-water marks, ``RECEIVE_SIZE``) keep its big
buffers below the first; the price is memory kept after a burst: at the end of the
bench the proxy's RSS was 49 MiB against 34 MiB untuned (peaks 49 and 42 MiB).

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
