"""Server-suite fixtures: scripted clients closed at the end of each test.

``reference_server`` and ``reference_state`` come from ``tests/conftest.py``; here
``reference_server`` also closes the ``ScriptedClient`` s (``helpers.py``) a test opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from msmgr.server import ServerAddresses

from .helpers import ScriptedClient


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
async def reference_server(reference_server: ServerAddresses) -> AsyncIterator[ServerAddresses]:
    """The shared reference server; scripted clients are closed before its checks run."""
    ScriptedClient.opened.clear()
    yield reference_server
    await _close_scripted_clients()
