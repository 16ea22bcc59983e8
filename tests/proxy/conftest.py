"""Fixtures of the proxy suite: run a test over both record paths (C fast path, Python)."""

from __future__ import annotations

import pytest

from msmgr.codec import framer
from msproxy.capture import scan


@pytest.fixture(params=["c", "python"])
def record_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test once with the C fast path and once with the pure-Python path.

    Relays and proxies made in the test take the default (``fast=None``,
    ``ProxyConfig(accelerate=None)``: C when built); the Python run makes neither the
    capture's nor the codec's C extension available, as in an install without a C
    compiler. The C run is skipped where the extension is not built; ``test_scan.py``
    fails there.
    """
    path: str = request.param
    if path == "python":
        monkeypatch.setattr(scan, "_scan", None)
        monkeypatch.setattr(framer, "_cframe", None)
    elif not scan.accelerated():
        pytest.skip("the C extension msproxy.capture._scan is not built")
    return path
