"""msmgr/client/passport: the Passport 1.4 ("Tweener") login of MSNP8+ (reference d.2).

1. The nexus (``GET /rdr/pprdr.asp``) answers a ``PassportURLs`` header whose
   ``DALogin=host/path`` names the login server (cached per client, as Net::Msmgr did).
2. ``GET`` the login URL with ``Authorization: Passport1.4 OrgVerb=GET,OrgURL=...,
   sign-in=...,pwd=...,<challenge>``; a ``302`` is followed, ``401`` means a wrong
   password, ``200`` carries the ticket in ``Authentication-Info: ...from-PP='t=...&p=...'``.

The login URL keeps the nexus URL's scheme when ``DALogin`` has none, so a test nexus
on plain HTTP leads to a plain-HTTP login server.
"""

from __future__ import annotations

import re
import ssl
import urllib.parse

from .errors import AuthenticationError, ClientError
from .http import HttpResponse, StreamOpener, http_get

DEFAULT_NEXUS = "https://nexus.passport.com/rdr/pprdr.asp"
DEFAULT_ORG_URL = "http://messenger.msn.com"
MAX_REDIRECTS = 5

_FROM_PP = re.compile(r"from-PP='([^']*)'")


class PassportError(ClientError):
    """The Passport service could not be used (unreachable, unexpected answer)."""


def parse_header_list(value: str) -> dict[str, str]:
    """``"a=1,b=2"`` (after an optional ``Passport1.4 `` scheme) -> ``{"a": "1", "b": "2"}``."""
    value = value.strip()
    if value.lower().startswith("passport1.4 "):
        value = value[len("passport1.4 ") :]
    result: dict[str, str] = {}
    for part in value.split(","):
        key, sep, val = part.partition("=")
        if sep:
            result[key.strip()] = val.strip()
    return result


def authorization_header(handle: str, password: str, challenge: str) -> str:
    """The ``Authorization`` value of the login request."""
    params = parse_header_list(challenge)
    org_url = urllib.parse.unquote(params.get("ru", "")) or DEFAULT_ORG_URL
    quote = urllib.parse.quote
    return (
        "Passport1.4 OrgVerb=GET,"
        f"OrgURL={quote(org_url, safe='')},"
        f"sign-in={quote(handle, safe='')},"
        f"pwd={quote(password, safe='')},"
        f"{challenge}"
    )


def parse_ticket(authentication_info: str) -> str:
    """The ticket (``t=...&p=...``) inside ``from-PP='...'``.

    Raises:
        PassportError: no ``from-PP`` field.
    """
    match = _FROM_PP.search(authentication_info)
    if match is None:
        raise PassportError(f"no ticket in Authentication-Info: {authentication_info[:200]!r}")
    return match.group(1)


class PassportClient:
    """Gets Passport 1.4 tickets from a nexus and its login server."""

    def __init__(
        self,
        nexus_url: str = DEFAULT_NEXUS,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        open_stream: StreamOpener | None = None,
    ) -> None:
        self.nexus_url = nexus_url
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.open_stream = open_stream
        self.dalogin: str | None = None

    async def _get(self, url: str, headers: list[tuple[str, str]]) -> HttpResponse:
        return await http_get(
            url,
            headers,
            time_limit=self.timeout,
            ssl_context=self.ssl_context,
            open_stream=self.open_stream,
        )

    async def login_url(self) -> str:
        """The login server's URL, asked of the nexus once and then cached."""
        if self.dalogin is None:
            response = await self._get(self.nexus_url, [])
            if response.status != 200 or "passporturls" not in response.headers:
                raise PassportError(
                    f"nexus {self.nexus_url} answered {response.status} without PassportURLs"
                )
            urls = parse_header_list(response.headers["passporturls"])
            dalogin = urls.get("DALogin")
            if not dalogin:
                header = response.headers["passporturls"]
                raise PassportError(f"no DALogin in PassportURLs: {header!r}")
            self.dalogin = dalogin
        if "://" in self.dalogin:
            return self.dalogin
        scheme = urllib.parse.urlsplit(self.nexus_url).scheme or "https"
        return f"{scheme}://{self.dalogin}"

    async def get_ticket(self, handle: str, password: str, challenge: str) -> str:
        """Log ``handle`` in to Passport for the NS ``challenge``; return the ticket.

        Raises:
            AuthenticationError: Passport refused the password (401).
            PassportError, HttpError: the service was unreachable or answered nonsense.
        """
        url = await self.login_url()
        headers = [
            ("Authorization", authorization_header(handle, password, challenge)),
            ("User-Agent", "MSMSGS"),
        ]
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._get(url, headers)
            if response.status == 200:
                return parse_ticket(response.headers.get("authentication-info", ""))
            if response.status in (301, 302, 303, 307) and "location" in response.headers:
                url = urllib.parse.urljoin(url, response.headers["location"])
                continue
            if response.status == 401:
                info = parse_header_list(response.headers.get("www-authenticate", ""))
                text = urllib.parse.unquote(info.get("cbtxt", "")) or "wrong handle or password"
                raise AuthenticationError(f"Passport refused the login of {handle}: {text}")
            raise PassportError(f"Passport login at {url} answered HTTP {response.status}")
        raise PassportError(f"more than {MAX_REDIRECTS} Passport redirects")
