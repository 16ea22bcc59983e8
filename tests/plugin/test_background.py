"""BackgroundLoop: services for synchronous tests in a trio loop on a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from msproxy.fixtures import BackgroundLoop


@asynccontextmanager
async def service(log: list[str], name: str) -> AsyncIterator[str]:
    log.append(f"enter {name} on {threading.current_thread().name}")
    try:
        yield name.upper()
    finally:
        log.append(f"exit {name}")


@asynccontextmanager
async def broken(fail: bool = True) -> AsyncIterator[None]:
    if fail:
        raise OSError("cannot listen")
    yield


def test_services_enter_and_leave_in_the_loop_thread() -> None:
    log: list[str] = []
    loop = BackgroundLoop(name="fixture-loop")
    try:
        value, leave = loop.enter(service(log, "a"))
        assert value == "A"
        _, leave_b = loop.enter(service(log, "b"))
        leave()
        assert log == ["enter a on fixture-loop", "enter b on fixture-loop", "exit a"]
    finally:
        loop.close()
    assert log[-1] == "exit b"  # closing cancels what is still entered
    leave_b()  # after close: nothing left to do


def test_a_service_that_fails_to_start_raises_in_the_test_thread() -> None:
    loop = BackgroundLoop()
    try:
        with pytest.raises(OSError, match="cannot listen"):
            loop.enter(broken())
        assert loop.run_sync(lambda: 42) == 42  # the loop goes on
    finally:
        loop.close()
