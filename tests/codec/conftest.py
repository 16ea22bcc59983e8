"""Fixtures of the codec suite: every test runs with the C accelerator and without it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from msmgr.codec import framer


@pytest.fixture(scope="module", params=["c", "python"], autouse=True)
def framer_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Framers made in the test use the C accelerator ("c") or not ("python").

    The C runs are skipped where the extension is not built; ``test_cframe.py`` fails
    there.
    """
    path: str = request.param
    with pytest.MonkeyPatch.context() as patch:
        if path == "python":
            patch.setenv(framer.PURE_PYTHON_ENV, "1")
        else:
            patch.delenv(framer.PURE_PYTHON_ENV, raising=False)
            if not framer.accelerated():
                pytest.skip("the C extension msmgr.codec._cframe is not built")
        yield path
