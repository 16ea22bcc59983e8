"""msmgr/client/versions: what the client says it is, per negotiated MSNP version.

Which versions the client speaks (``protocol_number``: MSNP2-12, thresholds from
``msmgr.codec.versions``), and two small tables, each keyed by protocol version (a
version missing from a table uses the nearest lower entry):

* ``CLIENT_VERSIONS``: the Messenger build sent in ``CVR`` (MSNP8+; older logins send
  ``INF`` instead). The build that first spoke that protocol: MSNP8 5.0.0540,
  MSNP9 6.0.0602, MSNP10 6.2.0208, MSNP11 7.0.0813, MSNP12 7.5.0324.
* ``CLIENT_IDS``: the client-id number sent with ``CHG`` from MSNP8 on (capability
  flags; the server relays it in ``ILN``/``NLN`` and, MSNP12+, ``IRO``/``JOI``). The
  high nibble is the MSNC (P2P) version that client spoke, the low bits are
  0x04 (ink as GIF) and 0x20 (multi-packet messages): MSNP8-9 ``0x10000024``
  (268435492, MSNC1), MSNP10 MSNC3, MSNP11 MSNC4, MSNP12 MSNC5.
"""

from __future__ import annotations

from typing import TypeVar

from msmgr.codec import parse_version
from msmgr.codec import versions as v

T = TypeVar("T")

MIN_VERSION = v.MIN_VERSION
DEFAULT_VERSION = v.TWEENER  # highest version offered: MSNP8 (TWN), falling back to MD5
MAX_SUPPORTED = v.MAX_SERVED_VERSION  # MSNP13+ need the SOAP address book (and 15+ SSO)
MIN_TWN = v.TWEENER  # old name: MSNP8+ log in with Passport 1.4 (TWN)
MIN_STAMPED_SYN = v.LIST_FORMAT_10  # old name: MSNP10+ SYN carries two timestamps
MIN_CLIENT_ID = v.TWEENER  # CHG carries a client id from MSNP8 on
MIN_MSNOBJ = v.MSNOBJ  # ... and an MSNObject from MSNP9 on

CVR_PLATFORM = ("0x0409", "winnt", "5.1", "i386", "MSNMSGR")
CVR_PRODUCT = "MSMSGS"
CLIENT_VERSIONS: dict[int, str] = {
    2: "5.0.0515",  # what Net::Msmgr sent at every version
    8: "5.0.0540",
    9: "6.0.0602",
    10: "6.2.0208",
    11: "7.0.0813",
    12: "7.5.0324",
}

_INK_GIF = 0x04
_MULTI_PACKET = 0x20
CLIENT_IDS: dict[int, int] = {
    8: 0x10000000 | _MULTI_PACKET | _INK_GIF,  # 268435492
    9: 0x10000000 | _MULTI_PACKET | _INK_GIF,
    10: 0x30000000 | _MULTI_PACKET | _INK_GIF,
    11: 0x40000000 | _MULTI_PACKET | _INK_GIF,
    12: 0x50000000 | _MULTI_PACKET | _INK_GIF,
}


def _lookup(table: dict[int, T], version: int) -> T | None:
    keys = [v for v in table if v <= version]
    return table[max(keys)] if keys else None


def client_version(version: int) -> str:
    """The Messenger build ``CVR`` claims at MSNP ``version``."""
    found = _lookup(CLIENT_VERSIONS, version)
    return found if found is not None else CLIENT_VERSIONS[min(CLIENT_VERSIONS)]


def cvr_args(version: int, handle: str) -> tuple[str, ...]:
    """The arguments of ``CVR`` at MSNP ``version`` (locale, OS, build, product, account)."""
    return (*CVR_PLATFORM, client_version(version), CVR_PRODUCT, handle)


def default_client_id(version: int) -> int | None:
    """The client id ``CHG`` sends by default at MSNP ``version`` (None before MSNP8)."""
    return _lookup(CLIENT_IDS, version) if version >= MIN_CLIENT_ID else None


def protocol_number(protocol: str | int) -> int:
    """``"MSNP8"`` or ``8`` -> 8.

    Raises:
        ValueError: not a protocol name, or outside the supported MSNP2-MSNP12 (the
            message says why: MSNP13-18 need the SOAP address book, MSNP19+ do not exist).
    """
    number = protocol if isinstance(protocol, int) else parse_version(protocol.upper())
    speaks = f"the client speaks MSNP{MIN_VERSION}..MSNP{MAX_SUPPORTED}: {protocol!r}"
    if number is not None and number > v.MAX_VERSION:
        raise ValueError(
            f"there is no MSNP{number} (the protocol ends at MSNP{v.MAX_VERSION}); {speaks}"
        )
    if number is not None and number > MAX_SUPPORTED:
        raise ValueError(
            f"MSNP{number} is not supported (its contact lists live in the SOAP address"
            f" book); {speaks}"
        )
    if number is None or not number >= MIN_VERSION:
        raise ValueError(f"protocol must be MSNP{MIN_VERSION}..MSNP{MAX_SUPPORTED}: {protocol!r}")
    return number
