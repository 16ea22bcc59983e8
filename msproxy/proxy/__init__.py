"""msproxy.proxy: the MITM proxy (a sans-IO relay per connection and its trio driver)."""

from __future__ import annotations

from msmgr.codec.redirect import RedirectInfo, find_redirect

from .redact import Redactor
from .relay import Relay, RelayState

__all__ = ["RedirectInfo", "Redactor", "Relay", "RelayState", "find_redirect"]
