"""Client test fixtures: the reference server's fixtures are reused from tests/server."""

from __future__ import annotations

from tests.server.conftest import reference_server, reference_state

__all__ = ["reference_server", "reference_state"]
