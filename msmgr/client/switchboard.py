"""msmgr/client/switchboard: a connection to a switchboard (Net::Msmgr::Switchboard).

The class is defined beside ``Conversation`` (each points at the other); this module
keeps the Net::Msmgr module name.
"""

from __future__ import annotations

from .conversation import Switchboard

__all__ = ["Switchboard"]
