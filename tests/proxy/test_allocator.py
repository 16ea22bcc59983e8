"""tune_malloc: fixed glibc malloc thresholds, so the proxy's big buffers stop being
page-faulted in afresh (``msproxy run`` calls it; the library never does)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from msproxy.__main__ import main as msproxy_main
from msproxy.proxy.allocator import tune_malloc

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# The proxy's pattern, in small: a chunk read (256 KiB), the records encoded from it
# (~600 KiB) queued until a batch is written, then all freed. Prints whether the tuning
# was done and the page faults the pattern took.
PATTERN = """
import resource, sys
from msproxy.proxy.allocator import tune_malloc
done = tune_malloc({}) if sys.argv[1] == "tune" else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
before = faults()
batch = []
for _ in range(100):
    chunk = bytearray(256 << 10)
    batch.append(bytearray(600 << 10))
    if len(batch) > 4:
        batch.clear()
    del chunk
print(done, faults() - before)
"""


def page_faults(mode: str) -> tuple[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", PATTERN, mode], capture_output=True, text=True, check=True
    )
    done, faults = result.stdout.split()
    return done, int(faults)


@pytest.mark.skipif(not GLIBC, reason="mallopt's thresholds are glibc's")
def test_tuned_malloc_reuses_memory_instead_of_faulting_it_in_again() -> None:
    default = page_faults("default")[1]
    done, tuned = page_faults("tune")
    assert done == "True"
    # Measured here: about 11,900 page faults by default, 800 tuned.
    assert tuned * 4 < default, (tuned, default)


def test_nothing_is_tuned_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_library(name: object) -> None:
        raise AssertionError("the C library was looked up")

    monkeypatch.setattr("msproxy.proxy.allocator.sys.platform", "win32")
    monkeypatch.setattr("msproxy.proxy.allocator.ctypes.CDLL", no_library)
    assert tune_malloc({}) is False


@pytest.mark.parametrize(
    "environ",
    [
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1048576"},
        {"GLIBC_TUNABLES": "glibc.rtld.nns=2:glibc.malloc.mmap_threshold=1"},
        {"MALLOC_MMAP_THRESHOLD_": "65536"},
        {"MALLOC_TRIM_THRESHOLD_": "0"},
    ],
)
def test_malloc_tuned_by_the_environment_is_left_alone(environ: dict[str, str]) -> None:
    assert tune_malloc(environ) is False


@pytest.mark.skipif(not GLIBC, reason="mallopt's thresholds are glibc's")
def test_other_tunables_do_not_stop_the_tuning() -> None:
    code = (
        "from msproxy.proxy.allocator import tune_malloc;"
        "print(tune_malloc({'GLIBC_TUNABLES': 'glibc.rtld.nns=2'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


def test_msproxy_run_tunes_malloc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[dict[str, str] | None] = []

    def record(environ: dict[str, str] | None = None) -> bool:
        calls.append(environ)
        return True

    monkeypatch.setattr("msproxy.cli.run.tune_malloc", record)
    existing = tmp_path / "c.jsonl"
    existing.write_text("")  # (so the proxy stops right after the tuning: exit status 1)
    argv = ["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "-q"]
    assert msproxy_main([*argv, "--capture", str(existing)]) == 1
    assert calls == [None]
