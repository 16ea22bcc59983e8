"""msmgr.client: the Net::Msmgr 0.16 client library, ported to trio.

Log in, keep presence, hold conversations and run bots::

    async with open_session("alice@example.com", "pw", server="127.0.0.1:1863") as session:
        await session.sync()
        await session.set_state("NLN")
        conversation = await session.new_conversation("bob@example.com")
        await conversation.send_text("hello", ack="A")

Net::Msmgr names: ``Connection``, ``Switchboard``, ``Conversation``, ``Session``,
``User``; commands are ``msmgr.codec.Command`` (its ``.type`` gives the four kinds).

Protocol versions: MSNP2-7 (MD5 login) and MSNP8-12 (Passport 1.4 login, ``SYN`` list
sync in its MSNP8-9 and MSNP10-12 forms). MSNP13+ (SOAP address book, ``ADL``; SSO from
MSNP15) are not supported and refused when a ``Session`` is made.
"""

from __future__ import annotations

from .address import format_address, parse_address
from .command import TridCounter, make, send
from .connection import DEFAULT_PORT, DEFAULT_SERVER, Connection
from .conversation import Conversation, State
from .errors import (
    AuthenticationError,
    ClientError,
    ConnectFailed,
    ConnectionLost,
    MessageNotDelivered,
    NotConnected,
    ProtocolMismatch,
    RequestTimeout,
    ServerError,
)
from .handlers import Handler, HandlerTable
from .http import HttpError, HttpResponse, http_get
from .lists import STATES, STATUS_WORDS, Contact, ContactLists, Presence
from .message import Message, parse_message, text_message, typing_message
from .passport import DEFAULT_NEXUS, PassportClient, PassportError
from .session import DEFAULT_VERSION, Session, open_session, protocol_number
from .switchboard import Switchboard
from .user import User
from .versions import CLIENT_IDS, CLIENT_VERSIONS, client_version, cvr_args, default_client_id

__all__ = [
    "CLIENT_IDS",
    "CLIENT_VERSIONS",
    "DEFAULT_NEXUS",
    "DEFAULT_PORT",
    "DEFAULT_SERVER",
    "DEFAULT_VERSION",
    "STATES",
    "STATUS_WORDS",
    "AuthenticationError",
    "ClientError",
    "ConnectFailed",
    "Connection",
    "ConnectionLost",
    "Contact",
    "ContactLists",
    "Conversation",
    "Handler",
    "HandlerTable",
    "HttpError",
    "HttpResponse",
    "Message",
    "MessageNotDelivered",
    "NotConnected",
    "PassportClient",
    "PassportError",
    "Presence",
    "ProtocolMismatch",
    "RequestTimeout",
    "ServerError",
    "Session",
    "State",
    "Switchboard",
    "TridCounter",
    "User",
    "client_version",
    "cvr_args",
    "default_client_id",
    "format_address",
    "http_get",
    "make",
    "open_session",
    "parse_address",
    "parse_message",
    "protocol_number",
    "send",
    "text_message",
    "typing_message",
]
