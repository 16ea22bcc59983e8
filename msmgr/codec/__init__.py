"""msmgr.codec: the sans-IO MSNP codec (MSNP2-MSNP18, both directions, byte-exact).

No IO here: this package never imports trio, socket or time. Feed bytes to a
``Framer``, get ``Command`` objects out; call ``Command.to_bytes()`` to write one.
"""

from __future__ import annotations

from .address import format_address, parse_address
from .challenge import (
    MSNP6_KEY,
    MSNP11_KEY,
    ClientKey,
    challenge_md5,
    challenge_msnp11,
    challenge_response,
    login_hash,
)
from .command import Command, CommandType, Direction, canonical_line, line_bytes
from .errors import (
    LimitExceeded,
    LocalProtocolError,
    MsnpError,
    ProtocolError,
    RemoteProtocolError,
)
from .events import (
    DEFAULT_MAX_LINE,
    DEFAULT_MAX_PAYLOAD,
    BulkScanner,
    CommandRun,
    Desync,
    Dialect,
    Event,
    Limits,
    Passthrough,
    Unparsed,
)
from .framer import Framer
from .tables import has_payload, has_trid, parse_version
from .versions import MSNP_PORT

__all__ = [
    "DEFAULT_MAX_LINE",
    "DEFAULT_MAX_PAYLOAD",
    "MSNP6_KEY",
    "MSNP_PORT",
    "MSNP11_KEY",
    "BulkScanner",
    "ClientKey",
    "Command",
    "CommandRun",
    "CommandType",
    "Desync",
    "Dialect",
    "Direction",
    "Event",
    "Framer",
    "LimitExceeded",
    "Limits",
    "LocalProtocolError",
    "MsnpError",
    "Passthrough",
    "ProtocolError",
    "RemoteProtocolError",
    "Unparsed",
    "canonical_line",
    "challenge_md5",
    "challenge_msnp11",
    "challenge_response",
    "format_address",
    "has_payload",
    "has_trid",
    "line_bytes",
    "login_hash",
    "parse_address",
    "parse_version",
]
