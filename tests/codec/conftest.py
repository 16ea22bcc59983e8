"""Fixtures of the codec suite: every test runs with the C accelerator and without it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from msmgr.codec import framer


@pytest.fixture(scope="module", params=["c", "python"], autouse=True)
def framer_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Framers made in the test with the default (``accelerate=None``: C when built) use
    the C accelerator ("c") or not ("python"). The Python run makes the extension
    unavailable, as in an install without a C compiler.

    The C runs are skipped where the extension is not built; ``test_cframe.py`` fails
    there.
    """
    path: str = request.param
    if path == "c" and framer._cframe is None:
        pytest.skip("the C extension msmgr.codec._cframe is not built")
    with pytest.MonkeyPatch.context() as patch:
        if path == "python":
            patch.setattr(framer, "_cframe", None)
        yield path
