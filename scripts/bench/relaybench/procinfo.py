"""What the relay benchmark reads about its processes from /proc (Linux): CPU time,
resident memory, the shared libraries a relay has loaded; and the file-descriptor limit
the idle check needs raised."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def cpu_seconds(pid: int, *, loop_only: bool = False) -> float:
    """User + system CPU time a process has used so far, from /proc: all its threads, or
    (``loop_only``) its main thread's, where each relay runs its event loop."""
    with open(f"/proc/{pid}/task/{pid}/stat" if loop_only else f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """A process's resident set size in KiB (0 when /proc does not say)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def loaded_extensions(pid: int, root: Path) -> list[str]:
    """The shared libraries under ``root`` that a process has mapped (its C extensions),
    as paths relative to ``root``."""
    found: dict[str, None] = {}
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            path = line.split(maxsplit=5)[5:]
            if path and path[0].strip().endswith(".so"):
                mapped = Path(path[0].strip())
                if mapped.is_relative_to(root):
                    found[str(mapped.relative_to(root))] = None
    return sorted(found)


def raise_nofile() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft
