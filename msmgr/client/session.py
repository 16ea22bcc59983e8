"""msmgr/client/session: log in, keep presence, hold conversations (Net::Msmgr::Session).

``Session`` is built in layers, one job each: ``base`` (state, nursery, handlers,
logout), ``notification`` (the NS's own processing and the user's requests),
``login`` (the login dialogue). All background tasks (each connection's reader, the
keep-alive, answering RNGs) run in the session's nursery: ``async with Session(...)``
(or ``open_session``) owns it, and leaving it logs out and closes every connection.

Supported protocol versions: MSNP2-7 (``USR MD5``) and MSNP8-12 (``USR TWN`` with a
Passport 1.4 ticket; list sync by ``SYN``, MSNP10+ with timestamps and ``N=``/``F=``/
``C=`` fields). MSNP13 and later keep the contact lists in the SOAP address book
(``ADL``; from MSNP15 also an SSO login), which this library does not speak: asking
for them (``protocol="MSNP13"``) is refused with ``ValueError`` when the Session is
made, rather than logging in to empty lists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .base import DEFAULT_PING_INTERVAL
from .errors import ConnectionLost
from .interfaces import StreamOpener
from .login import MAX_REDIRECTS, LoginSession
from .notification import LIST_VERBS
from .user import User
from .versions import (
    DEFAULT_VERSION,
    MAX_SUPPORTED,
    MIN_STAMPED_SYN,
    MIN_TWN,
    MIN_VERSION,
    protocol_number,
)


class Session(LoginSession):
    """A login session: the NS connection, the lists and presence, and the conversations.

    Args:
        user: the account (or a handle, with ``password``).
        server: the DS (or NS) to start at, ``(host, port)`` or ``"host:port"``.
        protocol: the highest version to offer (``"MSNP8"``); all down to ``min_protocol``
            are offered in VER, the server picks one.
        nexus_url: the Passport 1.4 nexus (MSNP8+).
        contact_lists: the lists of an earlier session of the same account: ``sync()``
            then sends their version (timestamps) and keeps them if they are current.
        debug: Net::Msmgr debug flags (copied to the connections).
        nursery: run the background tasks here instead of in a nursery of our own
            (then ``async with`` is optional; call ``aclose()`` when done).
        accelerate: the codec's C accelerator on every connection (``Framer``); None
            (the default): when it is built.
    """


@asynccontextmanager
async def open_session(
    user: User | str, password: str | None = None, *, login: bool = True, **options: Any
) -> AsyncIterator[Session]:
    """A Session, logged in (unless ``login=False``); logged out when the block ends."""
    async with Session(user, password, **options) as session:
        if login:
            await session.login()
        yield session


__all__ = [
    "DEFAULT_PING_INTERVAL",
    "DEFAULT_VERSION",
    "LIST_VERBS",
    "MAX_REDIRECTS",
    "MAX_SUPPORTED",
    "MIN_STAMPED_SYN",
    "MIN_TWN",
    "MIN_VERSION",
    "ConnectionLost",
    "Session",
    "StreamOpener",
    "open_session",
    "protocol_number",
]
