"""msmgr/client/address: the ``host:port`` helpers, from ``msmgr.codec.address``."""

from __future__ import annotations

from msmgr.codec.address import MSNP_PORT as DEFAULT_PORT
from msmgr.codec.address import format_address, parse_address

__all__ = ["DEFAULT_PORT", "format_address", "parse_address"]
