"""msmgr.server: the embedded reference MSNP server (MSNP2-MSNP12; DS, NS, SB, Passport).

Start it with ``await nursery.start(serve_reference, ServerConfig())``; it reports the
bound ``ServerAddresses``. ``msmgr serve`` runs it from the command line.
"""

from __future__ import annotations

from .accounts import Account
from .app import serve_reference
from .config import DEMO_NAMES, DEMO_USERS, ServerAddresses, ServerConfig
from .state import NsSession, Participant, SbSession, ServerState

__all__ = [
    "DEMO_NAMES",
    "DEMO_USERS",
    "Account",
    "NsSession",
    "Participant",
    "SbSession",
    "ServerAddresses",
    "ServerConfig",
    "ServerState",
    "serve_reference",
]
