"""msproxy.proxy: the MITM proxy (a sans-IO relay per connection and its trio driver)."""

from __future__ import annotations

from .redact import Redactor
from .relay import Relay, RelayState
from .rewrite import RedirectInfo, find_redirect

__all__ = ["RedirectInfo", "Redactor", "Relay", "RelayState", "find_redirect"]
