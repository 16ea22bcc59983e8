"""msmgr/server/accounts: the accounts of the reference server, with their lists and groups.

An account's contact lists hold e-mail handles of other accounts (the server only
accepts contacts that exist). Friendly names and group names are kept in their wire form
(URL-encoded), so they go out exactly as clients sent them.
"""

from __future__ import annotations

import re
import uuid
import zlib
from dataclasses import dataclass, field
from urllib.parse import quote

LISTS = ("FL", "AL", "BL", "RL")
LIST_BITS = {"FL": 1, "AL": 2, "BL": 4, "RL": 8}
DEFAULT_GROUP = "Other%20Contacts"
MAX_GROUPS = 30
MAX_GROUP_NAME = 61  # URL-encoded characters, as the originals counted them
MAX_FRIENDLY_NAME = 387
PROPERTIES = ("PHH", "PHW", "PHM", "MOB", "MBE")
PHONE_PROPERTIES = ("PHH", "PHW", "PHM", "MOB")  # shown to contacts as BPR

GUID_NAMESPACE = uuid.UUID("6d73676d-7220-7265-6665-72656e636521")
"""The uuid5 namespace of contact and group GUIDs (MSNP10+); GUIDs are derived, not stored."""

_HANDLE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")


def valid_handle(text: str) -> bool:
    """Whether ``text`` looks like an MSN handle (an e-mail address)."""
    return len(text) <= 129 and _HANDLE.fullmatch(text) is not None


def default_friendly_name(email: str) -> str:
    """The URL-encoded friendly name of a new account: its handle."""
    return quote(email, safe="@")


@dataclass
class Account:
    """One account: credentials, friendly name, the four lists, groups and settings."""

    email: str
    password: str
    name: str = ""
    lists: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in LISTS})
    groups: dict[int, str] = field(default_factory=lambda: {0: DEFAULT_GROUP})
    fl_groups: dict[str, list[int]] = field(default_factory=dict)
    gtc: str = "A"
    blp: str = "AL"
    list_version: int = 0
    properties: dict[str, str] = field(default_factory=dict)  # PRP key -> URL-encoded value
    personal: bytes | None = None  # the last UUX payload (MSNP10+), relayed as UBX (MSNP11+)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = default_friendly_name(self.email)

    @property
    def member_id(self) -> int:
        """A stable 32-bit member id (for the profile's MemberIdLow)."""
        return zlib.crc32(self.email.encode("utf-8"))

    def on(self, list_name: str, email: str) -> bool:
        """Whether ``email`` is on this account's ``list_name``."""
        return email in self.lists[list_name]

    def list_bits(self, email: str) -> int:
        """The MSNP8 LST bit mask of ``email`` (FL=1 AL=2 BL=4 RL=8)."""
        return sum(bit for name, bit in LIST_BITS.items() if email in self.lists[name])

    def contacts(self) -> list[str]:
        """Every handle on any list, in first-seen order."""
        seen: dict[str, None] = {}
        for name in LISTS:
            for email in self.lists[name]:
                seen.setdefault(email)
        return list(seen)

    def allows(self, watcher: str) -> bool:
        """Whether ``watcher`` may see this account's presence and invite it (AL/BL/BLP)."""
        if watcher in self.lists["BL"]:
            return False
        if watcher in self.lists["AL"]:
            return True
        return self.blp == "AL"

    def bump(self) -> int:
        """Increment and return the list version."""
        self.list_version += 1
        return self.list_version

    # -- MSNP10+ GUIDs (stable: derived from the handles and group ids) --------

    def contact_guid(self, email: str) -> str:
        """The GUID of ``email`` in this account's address book (``C=`` in MSNP10+)."""
        return str(uuid.uuid5(GUID_NAMESPACE, f"{self.email}/contact/{email}"))

    def group_guid(self, gid: int) -> str:
        """The GUID of group ``gid`` (MSNP10+ LSG, ADG, RMG, REG and LST group fields)."""
        return str(uuid.uuid5(GUID_NAMESPACE, f"{self.email}/group/{gid}"))

    def contact_by_guid(self, guid: str) -> str | None:
        """The handle on the FL whose contact GUID is ``guid``, or None."""
        return next((e for e in self.lists["FL"] if self.contact_guid(e) == guid), None)

    def group_by_guid(self, guid: str) -> int | None:
        """The group id whose GUID is ``guid``, or None."""
        return next((g for g in self.groups if self.group_guid(g) == guid), None)


def build_accounts(
    users: dict[str, str], names: dict[str, str] | None = None
) -> dict[str, Account]:
    """Accounts for ``users`` (e-mail -> password), all on each other's FL, AL and RL.

    Args:
        names: e-mail -> URL-encoded friendly name, as if the account had set it;
            accounts not named here show their handle (as new MSN accounts did).
    """
    names = names or {}
    accounts = {
        email: Account(email, password, names.get(email, "")) for email, password in users.items()
    }
    for account in accounts.values():
        for other in accounts:
            if other == account.email:
                continue
            for name in ("FL", "AL", "RL"):
                account.lists[name].append(other)
            account.fl_groups[other] = [0]
        account.list_version = 1
    return accounts
