"""Shared fixtures: a reference server on loopback, port 0 (reusable by other suites).

Use ``reference_server`` (yields ``ServerAddresses``); ``reference_state`` is the state it
serves (inspect it, or change accounts before the test talks to the server).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest
import trio

from msmgr.server import DEMO_USERS, ServerAddresses, ServerConfig, ServerState, serve_reference

from .helpers import ScriptedClient


async def start_reference(
    nursery: trio.Nursery, config: ServerConfig, state: ServerState
) -> ServerAddresses:
    """Start ``serve_reference`` in ``nursery``; its addresses once it listens."""
    addrs: ServerAddresses = await nursery.start(partial(serve_reference, config, state=state))
    return addrs


async def _close_scripted_clients() -> None:
    for client in ScriptedClient.opened:
        await trio.aclose_forcefully(client.commands.stream)
    ScriptedClient.opened.clear()


@pytest.fixture
async def scripted_clients() -> AsyncIterator[list[ScriptedClient]]:
    """Every ``ScriptedClient`` a test opens, closed when the test ends."""
    ScriptedClient.opened.clear()
    yield ScriptedClient.opened
    await _close_scripted_clients()


@pytest.fixture
def reference_state() -> ServerState:
    """The state the ``reference_server`` fixture serves (the demo users)."""
    return ServerState.from_users(dict(DEMO_USERS))


@pytest.fixture
async def reference_server(
    nursery: trio.Nursery, reference_state: ServerState
) -> AsyncIterator[ServerAddresses]:
    """A running reference server on 127.0.0.1 (all ports ephemeral).

    Needs only pytest-trio's ``nursery`` and ``reference_state``; import both fixtures
    (``from tests.server.conftest import reference_server, reference_state``) to reuse it.
    Scripted clients of ``tests/server/helpers.py`` are closed at the end.
    """
    ScriptedClient.opened.clear()
    yield await start_reference(nursery, ServerConfig(), reference_state)
    await _close_scripted_clients()
    assert reference_state.internal_errors == 0, "the server logged an internal error"
