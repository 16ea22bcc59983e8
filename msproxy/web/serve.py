"""msproxy/web/serve: run the web view on trio (Hypercorn's trio worker).

``serve_web`` listens, follows the store's capture files, and serves the page until
cancelled; started with ``nursery.start`` it reports the page's URL with its token.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from msmgr.codec.address import format_address

from .app import build_app
from .guard import new_token
from .store import WebStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebListening:
    """Where a web view listens once it started: its URL with the token, and the parts."""

    url: str
    host: str
    port: int
    token: str


def is_loopback(host: str) -> bool:
    """True for a loopback address or ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_exposed(host: str) -> None:
    """Log a warning when ``host`` is not a loopback address."""
    if not is_loopback(host):
        logger.warning(
            "the web view listens on %s, not a loopback address: anyone who can reach it "
            "and has the URL's token sees the captured traffic",
            host,
        )


async def serve_web(
    store: WebStore,
    address: tuple[str, int],
    *,
    token: str | None = None,
    task_status: trio.TaskStatus[WebListening] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the web view of ``store`` on ``address`` (port 0: any free one) until
    cancelled, following its capture files meanwhile.

    Raises:
        OSError: the address cannot be listened on.
    """
    token = token if token is not None else new_token()
    host, port = address
    warn_if_exposed(host)
    config = Config()
    config.errorlog = logging.getLogger("msproxy.web.http")
    config.accesslog = None
    config.bind = [format_address(host, port)]
    store.poll()  # what the files hold already is there for the first request
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.follow_forever)
        binds: list[str] = await nursery.start(
            partial(serve, build_app(store, token), config)  # type: ignore[arg-type]
        )
        netloc = urlsplit(binds[0]).netloc
        bound = urlsplit(binds[0]).port or port
        url = f"http://{netloc}/?token={token}"
        task_status.started(WebListening(url, host, bound, token))
