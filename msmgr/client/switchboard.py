"""msmgr/client/switchboard: a connection to a switchboard (Net::Msmgr::Switchboard)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from msmgr.debug import Debug

from .connection import DEFAULT_DEBUG, Connection

if TYPE_CHECKING:
    from .conversation import Conversation
    from .session import Session


class Switchboard(Connection):
    """The connection of one conversation to its switchboard server; ``ssid`` names the session."""

    def __init__(
        self,
        session: Session,
        nserver: str,
        nsport: int,
        *,
        ssid: str,
        name: str | None = None,
        debug: Debug | int = DEFAULT_DEBUG,
    ) -> None:
        super().__init__(
            session, nserver, nsport, name=name or f"Switchboard Channel {ssid}", debug=debug
        )
        self.ssid = ssid
        self.conversation: Conversation | None = None
