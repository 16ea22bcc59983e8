"""msmgr/client/errors: the exceptions the client library raises, and ``describe``."""

from __future__ import annotations

import ssl

from msmgr.codec import Command, MsnpError


def describe(exc: BaseException) -> str:
    """A never-empty reason for ``exc``, for error messages.

    Some exceptions say nothing themselves (``trio.BrokenResourceError()`` wrapping an
    ``ssl.SSLError``): then the first non-empty message down the ``__cause__`` /
    ``__context__`` chain is used, and with none at all the type name. A TLS failure
    anywhere in the chain is called one (``TLS error: [SSL: WRONG_VERSION_NUMBER] ...``).
    """
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    text = next((str(e).strip() for e in chain if str(e).strip()), type(exc).__name__)
    if "TLS error" not in text and any(isinstance(e, ssl.SSLError) for e in chain):
        return "TLS error: " + text  # said once, even when the message quotes a described cause
    return text


class ClientError(MsnpError):
    """Base class of the client library's errors (network, protocol, authentication)."""


class ConnectFailed(ClientError):
    """A TCP (or TLS) connection to a server could not be opened in time."""


class NotConnected(ClientError):
    """A command was sent on a connection that is not (or no longer) open."""


class ConnectionLost(ClientError):
    """The server closed the connection (or it broke) while a reply was awaited."""


class RequestTimeout(ClientError, TimeoutError):
    """No reply to a request (or no event awaited) arrived within the timeout."""


class ServerError(ClientError):
    """The server answered a request with a numeric error reply (``217 5``).

    Attributes:
        code: the error code (``217``).
        command: the error reply as received.
        request: the request it answers, if known.
    """

    def __init__(self, code: int, command: Command, request: Command | None = None) -> None:
        self.code = code
        self.command = command
        self.request = request
        what = f" to {request.line!r}" if request is not None else ""
        super().__init__(f"server error {code} ({error_meaning(code)}){what}")


class AuthenticationError(ClientError):
    """The server or the Passport service rejected the handle or password."""


class ProtocolMismatch(ClientError):
    """The server and the client have no protocol version (or method) in common."""


class MessageNotDelivered(ClientError):
    """The switchboard answered a message with NAK."""


# What the numeric error replies mean (msnp.md b.5); used in every error message.
ERROR_MEANINGS: dict[int, str] = {
    200: "syntax error",
    201: "invalid parameter",
    205: "invalid user",
    206: "domain name missing",
    207: "already logged in",
    208: "invalid user name",
    209: "nickname change illegal",
    210: "list full",
    215: "already there",
    216: "not on list",
    217: "user not online",
    218: "already in that mode",
    219: "user is in the opposite list",
    223: "too many groups",
    224: "invalid group",
    225: "user not in group",
    229: "group name too long",
    230: "cannot remove group 0",
    231: "invalid group",
    280: "switchboard failed",
    281: "transfer to switchboard failed",
    300: "required field missing",
    302: "not logged in",
    500: "internal server error",
    501: "database server error",
    502: "command disabled",
    510: "file operation failed",
    520: "memory allocation failed",
    540: "challenge response failed",
    600: "server is busy",
    601: "server is unavailable",
    602: "peer notification server down",
    603: "database connection failed",
    604: "server is going down",
    605: "server is unavailable",
    707: "could not create connection",
    710: "bad CVR parameters",
    711: "write is blocking",
    712: "session is overloaded",
    713: "calling too rapidly",
    714: "too many sessions",
    715: "not expected",
    717: "bad friend file",
    731: "not expected",
    800: "changing too rapidly",
    910: "server too busy",
    911: "authentication failed",
    912: "server too busy",
    913: "not allowed when offline",
    914: "server is unavailable",
    915: "server is unavailable",
    916: "server is unavailable",
    917: "authentication failed",
    918: "server too busy",
    919: "server too busy",
    920: "not accepting new users",
    921: "server too busy",
    922: "server too busy",
    923: "Kids Passport without parental consent",
    924: "Passport account not yet verified",
    928: "bad ticket",
}


def error_meaning(code: int) -> str:
    """What numeric error ``code`` means (``"user not online"``), or ``"unknown error"``."""
    return ERROR_MEANINGS.get(code, "unknown error")
