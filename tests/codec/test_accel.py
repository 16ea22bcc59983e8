"""Optional C accelerators: used only when built from these sources (their ``ABI``),
chosen by an argument; the environment switches are the command lines' only."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from pathlib import Path

import pytest

from msmgr.codec import Direction, Framer, framer
from msmgr.codec.accel import load_accelerator
from msproxy.__main__ import main as msproxy_main
from msproxy.capture import scan
from msproxy.cli import run as cli_run
from msproxy.proxy.config import ProxyConfig


@pytest.mark.parametrize(
    ("name", "abi"),
    [("msmgr.codec._cframe", framer.CFRAME_ABI), ("msproxy.capture._scan", scan.SCAN_ABI)],
)
def test_a_build_of_these_sources_is_used_and_another_is_not(name: str, abi: int) -> None:
    module, why = load_accelerator(name, abi)
    assert module is not None, f"{name}: {why} (pip install -e '.[test]' rebuilds it)"
    assert why == ""
    assert abi == module.ABI
    # a module whose interface number is not the one the Python code expects
    stale, why = load_accelerator(name, abi + 1)
    assert stale is None
    assert why == (
        f"built from other sources (interface {abi}, these sources need {abi + 1}): "
        "reinstall to rebuild it"
    )


def test_a_missing_accelerator_is_not_built() -> None:
    assert load_accelerator("msmgr.codec._no_such_accelerator", 1) == (None, "not built")


def test_the_proxy_says_its_capture_extension_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_scan", None)
    monkeypatch.setattr(scan, "SCAN_MISSING", "built from other sources (...): reinstall")
    amiss, says = scan.fast_path_status()
    assert amiss
    assert says == (
        "pure Python: the C extension msproxy.capture._scan is built from other sources"
        " (...): reinstall"
    )
    assert not scan.accelerated()


def test_the_library_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framer, "_use_accelerator", True)  # (restored after the test)
    monkeypatch.setenv(framer.PURE_PYTHON_ENV, "1")
    monkeypatch.setenv(scan.PURE_PYTHON_ENV, "1")
    built = framer._cframe is not None
    assert framer.accelerated() is built
    assert (Framer(Direction.C2S)._rules is not None) is built
    assert scan.RecordScanner(1, Direction.C2S).accelerated is (scan._scan is not None)
    # a program's choice, for the framers made with accelerate=None
    framer.use_accelerator(False)
    assert not framer.accelerated()
    assert Framer(Direction.C2S)._rules is None
    if built:
        assert Framer(Direction.C2S, accelerate=True)._rules is not None


@pytest.mark.parametrize("pure", ["", "1"])
def test_the_command_lines_read_the_switches_once_and_pass_them_down(
    pure: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(framer, "_use_accelerator", True)  # (restored after the test)
    monkeypatch.setenv(framer.PURE_PYTHON_ENV, pure)
    monkeypatch.setenv(scan.PURE_PYTHON_ENV, pure)
    started: list[partial[Awaitable[int]]] = []

    def fake_run_async(fn: partial[Awaitable[int]]) -> int:
        started.append(fn)
        return 0

    monkeypatch.setattr(cli_run, "run_async", fake_run_async)
    monkeypatch.setattr(cli_run, "configure_logging", lambda *args, **kwargs: None)
    argv = ["run", "--listen", "127.0.0.1:0", "--capture", str(tmp_path / "c.jsonl")]
    assert msproxy_main(argv) == 0
    (config,) = [fn.args[0] for fn in started]
    assert isinstance(config, ProxyConfig)
    assert config.accelerate is (False if pure else None)
    assert framer.accelerated() is (framer._cframe is not None and not pure)
