"""Client test fixtures: a reference server (msmgr.server) on loopback, all ports ephemeral."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest
import trio

from msmgr.server import DEMO_USERS, ServerAddresses, ServerConfig, ServerState, serve_reference


@pytest.fixture
def reference_state() -> ServerState:
    """The state the ``reference_server`` fixture serves (the demo users)."""
    return ServerState.from_users(dict(DEMO_USERS))


@pytest.fixture
async def reference_server(
    nursery: trio.Nursery, reference_state: ServerState
) -> AsyncIterator[ServerAddresses]:
    """A running reference server on 127.0.0.1, stopped with the test's nursery."""
    addrs: ServerAddresses = await nursery.start(
        partial(serve_reference, ServerConfig(), state=reference_state)
    )
    yield addrs
    assert reference_state.internal_errors == 0, "the server logged an internal error"
