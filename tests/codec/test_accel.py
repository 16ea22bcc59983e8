"""Optional C accelerators are used only when built from these sources (their ``ABI``)."""

from __future__ import annotations

import pytest

from msmgr.codec import framer
from msmgr.codec.accel import load_accelerator
from msproxy.capture import scan


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
