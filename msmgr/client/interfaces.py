"""msmgr/client/interfaces: what a connection and a conversation use of their session.

Structural types (``Protocol``), so that ``connection`` and ``conversation`` need not
import ``session`` (which imports them): the session satisfies both by having these
attributes; a test may pass any object that has them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

from msmgr.codec.transactions import TridCounter
from msmgr.debug import Debug

StreamOpener = Callable[[str, int], Awaitable[trio.abc.Stream]]


class ConnectionOwner(Protocol):
    """The session as a connection sees it: timeouts, opener, nursery, TrIDs, debug flags."""

    @property
    def connect_timeout(self) -> float: ...

    @property
    def request_timeout(self) -> float: ...

    @property
    def open_stream(self) -> StreamOpener: ...

    @property
    def nursery(self) -> trio.Nursery: ...

    @property
    def trids(self) -> TridCounter: ...

    @property
    def debug(self) -> Debug: ...


class ConversationOwner(ConnectionOwner, Protocol):
    """The session as a conversation sees it: also our handle and the open conversations."""

    @property
    def handle(self) -> str: ...

    @property
    def conversations(self) -> set[Any]: ...
