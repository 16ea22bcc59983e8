"""msmgr: the MSN Messenger protocol (MSNP2-MSNP18) for Python, on trio.

* ``msmgr.codec``: the sans-IO codec (bytes in, commands out).
* ``msmgr.stream``: the trio adapter (commands over a ``trio.abc.Stream``).
"""

from __future__ import annotations

from .codec import Command, CommandType, Direction, Framer, ProtocolError

__version__ = "0.1.0"

__all__ = ["Command", "CommandType", "Direction", "Framer", "ProtocolError", "__version__"]
