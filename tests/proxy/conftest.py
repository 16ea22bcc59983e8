"""Fixtures of the proxy suite: run a test over both record paths (C fast path, Python)."""

from __future__ import annotations

import pytest

from msmgr.codec import framer
from msproxy.capture import scan


@pytest.fixture(params=["c", "python"])
def record_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test once with the C fast path and once with the pure-Python path.

    Relays made in the test pick the path from the environment (``accelerated()``). The
    C run is skipped where the extension is not built; ``test_scan.py`` fails there.
    """
    path: str = request.param
    if path == "python":  # neither the capture's nor the codec's C accelerator
        monkeypatch.setenv(scan.PURE_PYTHON_ENV, "1")
        monkeypatch.setenv(framer.PURE_PYTHON_ENV, "1")
    else:
        monkeypatch.delenv(scan.PURE_PYTHON_ENV, raising=False)
        monkeypatch.delenv(framer.PURE_PYTHON_ENV, raising=False)
        if not scan.accelerated():
            pytest.skip("the C extension msproxy.capture._scan is not built")
    return path
