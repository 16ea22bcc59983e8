"""msmgr/codec/errors: the exceptions the codec raises."""

from __future__ import annotations


class MsnpError(Exception):
    """Base class of every msmgr exception."""


class ProtocolError(MsnpError):
    """Bytes that are not valid MSNP (strict mode), naming the offending bytes.

    Attributes:
        data: the offending bytes (cut to 200 bytes).
        error_code_hint: the MSNP error code a server would answer with, if any.
    """

    def __init__(self, message: str, data: bytes = b"", error_code_hint: int | None = 200):
        self.data = data[:200]
        self.error_code_hint = error_code_hint
        if data:
            message = f"{message}: {self.data!r}" + ("..." if len(data) > 200 else "")
        super().__init__(message)


class LimitExceeded(ProtocolError):
    """A line or payload larger than the framer's configured limit."""
