"""msmgr/codec/errors: the exceptions of the library, as h11 splits them.

A ``ProtocolError`` is raised as one of two kinds. ``LocalProtocolError``: we were asked
to send something that is not MSNP (serialising a ``Command``). ``RemoteProtocolError``:
the peer sent something that is not MSNP (the strict ``Framer``). Each is raised where
its cause is known (the codec's reading and writing share no raising code), so the
boundary is the caller's ``except``: a server answers a remote error with its
``error_code_hint`` and drops the client; a local one is its own bug.
"""

from __future__ import annotations

SYNTAX_ERROR = 200
"""The MSNP error code a server answers a line it cannot parse with."""


class MsnpError(Exception):
    """Base class of every msmgr exception."""


class ProtocolError(MsnpError):
    """Something that is not valid MSNP, naming the offending bytes; only its two
    subclasses are raised (``except ProtocolError`` catches both).

    Attributes:
        data: the offending bytes (cut to 200 bytes).
        error_code_hint: the MSNP error code a server would answer with, or None when
            it would not answer.
    """

    def __init__(self, message: str, data: bytes = b"", error_code_hint: int | None = None):
        if type(self) is ProtocolError:
            raise TypeError("raise LocalProtocolError or RemoteProtocolError")
        self.data = data[:200]
        self.error_code_hint = error_code_hint
        if data:
            message = f"{message}: {self.data!r}" + ("..." if len(data) > 200 else "")
        super().__init__(message)


class LocalProtocolError(ProtocolError):
    """We were asked to send something that is not MSNP (a command that cannot be
    serialised)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that is not MSNP (raised by a strict ``Framer``)."""


class LimitExceeded(RemoteProtocolError):
    """The peer sent a line or payload larger than the framer's configured limit."""
