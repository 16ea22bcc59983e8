"""msproxy/proxy/host: what a session needs of the proxy that runs it.

``server.Proxy`` is one; naming the interface here lets the session (``session``) be read
and tested without the server, and keeps the server -> session import one-way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from msmgr.debug import Debug

from .config import ProxyConfig
from .console import Console
from .loops import LoopWatch
from .redact import Redactor
from .routing import Address, Router
from .sink import CaptureSink


class Host(Protocol):
    """What a session uses of its proxy (``server.Proxy``)."""

    config: ProxyConfig
    sink: CaptureSink
    router: Router
    redactor: Redactor | None
    loops: LoopWatch
    console: Console | None
    now: Callable[[], float]

    def debug_now(self) -> Debug: ...
    def logger(self, flag: Debug) -> logging.Logger: ...
    async def open_ns_listener(self, target: Address) -> int | None: ...
