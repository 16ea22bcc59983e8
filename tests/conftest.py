"""Fixtures for every suite: a reference server (msmgr.server) on loopback, all ports ephemeral.

Use ``reference_server`` (yields ``ServerAddresses``); ``reference_state`` is the state it
serves (inspect it, or change accounts before the test talks to the server). A suite may
override ``reference_server`` to add its own clean-up (``tests/server/conftest.py`` does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest
import trio

from msmgr.server import DEMO_USERS, ServerAddresses, ServerConfig, ServerState, serve_reference

# pytester runs test files in a fresh pytest (tests/plugin: the msproxy pytest plugin).
pytest_plugins = ["pytester"]


async def start_reference(
    nursery: trio.Nursery, config: ServerConfig, state: ServerState
) -> ServerAddresses:
    """Start ``serve_reference`` in ``nursery``; its addresses once it listens."""
    addrs: ServerAddresses = await nursery.start(partial(serve_reference, config, state=state))
    return addrs


@pytest.fixture
def reference_state() -> ServerState:
    """The state the ``reference_server`` fixture serves (the demo users)."""
    return ServerState.from_users(dict(DEMO_USERS))


@pytest.fixture
async def reference_server(
    nursery: trio.Nursery, reference_state: ServerState
) -> AsyncIterator[ServerAddresses]:
    """A running reference server on 127.0.0.1, stopped with the test's nursery."""
    yield await start_reference(nursery, ServerConfig(), reference_state)
    assert reference_state.internal_errors == 0, "the server logged an internal error"
