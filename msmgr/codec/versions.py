"""msmgr/codec/versions: the MSNP port, the version range, and each version threshold, named.

Every place that behaves differently from some MSNP version on compares against one of
these names (``if version >= LIST_FORMAT_10: ...``), never a bare number: the reader finds
what changed at each version here, and the code says which change it depends on. A
threshold is the first version that has the feature; the comment names what it is.
"""

from __future__ import annotations

MSNP_PORT = 1863
"""The port of the dispatch server, and every notification server's by default."""

MIN_VERSION = 2
"""The first version of the protocol (MSN Messenger 1.0)."""
MAX_VERSION = 18
"""The last version this toolkit frames on purpose (WLM 2009); later ones pass through."""
MAX_SERVED_VERSION = 12
"""The last version the client library and the reference server speak (MSNP13 brought SOAP
address books and SSO login)."""

XFR_NS_ZERO = 3
"""``XFR trid NS host:port 0``: a ``0`` after the address."""
PRIVACY_PROPERTIES = 5
"""The SYN burst carries ``PRP`` (the user's phone numbers) and, after each FL ``LST``,
``BPR`` (that contact's)."""
CHALLENGES = 6
"""The server sends ``CHL`` challenges, answered with ``QRY``."""
VERIFIED_FLAG = 6
"""``USR trid OK`` ends with the account's verified flag (``1``)."""
GROUPS = 7
"""Contact groups: ``LSG`` in the SYN burst, a group on FL ``ADD`` and ``LST``."""
XFR_NS_CURRENT = 7
"""``XFR trid NS host:port 0 current-host:port``: the current server's address last."""
TWEENER = 8
"""Passport 1.4 (``USR trid TWN``) replaces MD5 login; ``CVR`` replaces ``INF``; the SYN
burst's ``LST``/``LSG`` lose their TrID and list version; ``CHG`` carries a client id;
``USR trid OK`` gains a restricted-account flag (``0``) after the verified one."""
MSNOBJ = 9
"""``CHG``/``NLN``/``ILN`` carry an MSNObject (display pictures)."""
PING_INTERVAL = 9
"""``QNG`` says when to ping next (``QNG 50``)."""
LIST_FORMAT_10 = 10
"""Contacts by GUID: ``ADC``/``REM`` with ``N=``/``C=``, ``SYN`` with two time stamps, no
list version in replies, no friendly name in ``USR OK``."""
PERSONAL_MESSAGE_SET = 10
"""The client may set a personal message (``UUX``); contacts see it from MSNP11 on."""
CHL_MSNP11 = 11
"""The MSNP11 challenge algorithm (product id and key)."""
PERSONAL_MESSAGES = 11
"""The server shows contacts' personal messages and current media (``UBX``)."""
SHIELDS_CONFIG = 11
"""The client fetches its configuration with ``GCF trid Shields.xml``."""
SBS_LINE = 11
"""The server sends ``SBS 0 null`` between ``USR trid OK`` and the profile message."""
LST_NETWORK_11 = 11
"""Some MSNP11 servers already put a network number after the list bits of ``LST``
(MSNP12 always does), so a lone number there is that field, not a group."""
CAPABILITIES_12 = 12
"""Client capabilities in ``IRO``/``JOI``, a network id on ``LST``."""
ERROR_PAYLOADS = 13
"""Numeric error replies may carry a payload (``241 8 120`` + XML); SSO login."""
CHL_KEY_15 = 15
"""The MSNP15 product id and key for ``QRY``."""
CHL_KEY_18 = 18
"""The MSNP18 product id and key for ``QRY``."""
