"""msproxy.proxy: the MITM proxy (a sans-IO relay per connection and its trio driver).

The public way to run one from your own code (a test's nursery, say)::

    config = ProxyConfig(upstream=("127.0.0.1", 1863), listen=("127.0.0.1", 0),
                         capture=Path("session.jsonl"))
    listening = await nursery.start(serve_proxy, config)  # a ProxyListening
    # clients connect to listening.address; cancel the nursery to stop the proxy
"""

from __future__ import annotations

from msmgr.codec.redirect import RedirectInfo, find_redirect

from .config import Connect, ProxyConfig
from .redact import Redactor
from .relay import Relay, RelayState
from .server import ProxyListening, UpstreamLoopError, serve_proxy

__all__ = [
    "Connect",
    "ProxyConfig",
    "ProxyListening",
    "RedirectInfo",
    "Redactor",
    "Relay",
    "RelayState",
    "UpstreamLoopError",
    "find_redirect",
    "serve_proxy",
]
