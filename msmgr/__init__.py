"""msmgr: the MSN Messenger protocol (MSNP2-MSNP18) for Python, on trio.

* ``msmgr.codec``: the sans-IO codec (bytes in, commands out); importing it alone
  (``import msmgr.codec`` with the package stubbed) loads no IO library.
* ``msmgr.stream``: the trio adapter (commands over a ``trio.abc.Stream``).
* Errors: ``MsnpError`` is the base of them all; ``LocalProtocolError`` (we were asked
  to send invalid MSNP) and ``RemoteProtocolError`` (the peer sent it) are the two
  ``ProtocolError``s; ``StreamClosed`` ends a stream.
* ``msmgr.client``: the Net::Msmgr-style client library (MSNP2-12), re-exported here
  so that ``from msmgr import Session, open_session`` works.
"""

from __future__ import annotations

# The codec first: every other subpackage imports it (no cycle back to this module's names).
from .codec import (
    Command,
    CommandType,
    Direction,
    Framer,
    LocalProtocolError,
    MsnpError,
    ProtocolError,
    RemoteProtocolError,
)
from .stream import StreamClosed

# isort: split
from .client import (
    AuthenticationError,
    ClientError,
    ConnectFailed,
    Connection,
    ConnectionLost,
    Conversation,
    MessageNotDelivered,
    NotConnected,
    ProtocolMismatch,
    RequestTimeout,
    ServerError,
    Session,
    Switchboard,
    User,
    open_session,
)
from .debug import (
    DEBUG_CLOSE,
    DEBUG_COMMAND_RECV,
    DEBUG_COMMAND_SEND,
    DEBUG_CONFUSED,
    DEBUG_HANDLER,
    DEBUG_NOTIFICATION,
    DEBUG_OPEN,
    DEBUG_PACKET_RECV,
    DEBUG_PACKET_SEND,
    Debug,
)

__version__ = "0.1.0"

__all__ = [
    "DEBUG_CLOSE",
    "DEBUG_COMMAND_RECV",
    "DEBUG_COMMAND_SEND",
    "DEBUG_CONFUSED",
    "DEBUG_HANDLER",
    "DEBUG_NOTIFICATION",
    "DEBUG_OPEN",
    "DEBUG_PACKET_RECV",
    "DEBUG_PACKET_SEND",
    "AuthenticationError",
    "ClientError",
    "Command",
    "CommandType",
    "ConnectFailed",
    "Connection",
    "ConnectionLost",
    "Conversation",
    "Debug",
    "Direction",
    "Framer",
    "LocalProtocolError",
    "MessageNotDelivered",
    "MsnpError",
    "NotConnected",
    "ProtocolError",
    "ProtocolMismatch",
    "RemoteProtocolError",
    "RequestTimeout",
    "ServerError",
    "Session",
    "StreamClosed",
    "Switchboard",
    "User",
    "__version__",
    "open_session",
]
