"""Fixtures of the proxy suite: run a test over both record paths (C fast path, Python)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

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


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Puts the root logger (and ``msmgr.debug``) back as they were after the test."""
    root = logging.getLogger()
    debug_logger = logging.getLogger("msmgr.debug")
    handlers, level, debug_level = list(root.handlers), root.level, debug_logger.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    debug_logger.setLevel(debug_level)
