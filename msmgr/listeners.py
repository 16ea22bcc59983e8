"""msmgr/listeners: open TCP listeners, with the address in the error when that fails.

``trio.open_tcp_listeners`` raises ``OSError: [Errno 98] Address already in use``
without saying which address; every server of the toolkit (the reference server, the
proxy, the replays) opens its listeners here instead, so the message names it.
"""

from __future__ import annotations

import trio

from msmgr.codec.address import format_address


async def open_listeners(port: int, host: str | None) -> list[trio.SocketListener]:
    """``trio.open_tcp_listeners(port, host=host)``; ``host`` None or empty: every address.

    Raises:
        OSError: the listeners cannot be opened; its ``strerror`` ends with the address
            (``Address already in use (127.0.0.1:1863)``), its ``errno`` is kept.
    """
    try:
        return await trio.open_tcp_listeners(port, host=host or None)
    except OSError as exc:
        where = format_address(host, port) if host else f"port {port} of every address"
        raise OSError(exc.errno, f"{exc.strerror or exc} ({where})") from exc
