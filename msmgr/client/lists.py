"""msmgr/client/lists: the contact lists, groups and presence a session learns from the NS.

Pure bookkeeping (no IO): ``ContactLists.handle(command, version)`` digests one NS
command. The list-sync formats of MSNP2-12 are understood (MSNP13+ moved the lists to
the SOAP address book). The list version (MSNP2-9) or the two timestamps (MSNP10-12) of
the last sync are kept (``version``, ``stamps``): the next ``SYN`` sends them, and the
server's short answer (``SYN trid ver`` / ``SYN trid ts ts``) means the lists are current.

* MSNP2-7: ``LST trid LIST ver idx total [email name [groups]]``, one list at a time;
  ``total == 0`` means the list is empty. A sync is complete when FL, AL, BL and RL
  have each been seen to their last item. MSNP7 adds ``LSG trid ver idx total id name 0``.
* MSNP8-9: ``SYN trid ver ncontacts ngroups``, then (no TrIDs) ``GTC``, ``BLP``,
  ``PRP``, ``LSG id name 0``, ``LST email name bits [groups]`` (FL=1 AL=2 BL=4 RL=8),
  each optionally followed by ``BPR key value`` lines. Complete after ``ncontacts`` LSTs.
* MSNP10-12: ``SYN trid stamp stamp ncontacts ngroups`` (the counts are the last two
  tokens; ``SYN trid stamp stamp`` alone means up to date), ``LSG name id`` (name
  first), ``LST N=email [F=name] [C=guid] bits [network] [groups]``: the list bits are
  the first all-digit token after the keyed fields; MSNP12 (and some MSNP11 servers)
  put a network/type number after them; groups are comma-separated ids.
"""

from __future__ import annotations

import logging
import urllib.parse
from dataclasses import dataclass, field

from msmgr.codec import Command
from msmgr.codec.versions import LIST_FORMAT_10, LST_NETWORK_11, TWEENER

logger = logging.getLogger(__name__)

LIST_NAMES = ("FL", "AL", "BL", "RL")
LIST_BITS = {"FL": 1, "AL": 2, "BL": 4, "RL": 8}

STATUS_WORDS = {
    "NLN": "Online",
    "BSY": "Busy",
    "IDL": "Idle",
    "BRB": "Be Right Back",
    "AWY": "Away",
    "PHN": "On the phone",
    "LUN": "Out to Lunch",
    "HDN": "Hidden",
    "FLN": "Offline",
}
STATES = ("NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN", "HDN")


def unquote(text: str) -> str:
    """A URL-encoded parameter (friendly name, group name) as text."""
    return urllib.parse.unquote(text)


@dataclass(slots=True)
class Contact:
    """One entry of the contact lists: handle, friendly name, lists, groups, phones."""

    email: str
    name: str = ""
    lists: set[str] = field(default_factory=set)
    groups: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    guid: str = ""  # MSNP10+: the contact id (C=), used by REM FL
    network: str = ""  # MSNP12: the number after the list bits (1 = Messenger)


@dataclass(slots=True)
class Presence:
    """A contact's current status as the NS last reported it (ILN/NLN)."""

    status: str
    name: str = ""
    client_id: int | None = None  # MSNP8+: the capability flags the contact's client sent
    msn_object: str = ""  # MSNP9+: its MSNObject (URL-decoded), if it set one

    @property
    def word(self) -> str:
        """The status as Net::Msmgr's roster shows it (``"Online"``)."""
        return STATUS_WORDS.get(self.status, self.status)


class ContactLists:
    """The forward, allow, block and reverse lists, groups, settings and presence."""

    def __init__(self) -> None:
        self.lists: dict[str, list[str]] = {name: [] for name in LIST_NAMES}
        self.contacts: dict[str, Contact] = {}
        self.groups: dict[str, str] = {}
        self.settings: dict[str, str] = {}  # GTC, BLP and PRP values
        self.presence: dict[str, Presence] = {}
        self.version = 0  # MSNP2-9 list version
        self.stamps: tuple[str, ...] = ()  # MSNP10-12: the two timestamps of the last SYN
        self.account = ""  # whose lists these are (set by the session that syncs them)
        self._expect_contacts: int | None = None
        self._seen_contacts = 0
        self._lists_done: set[str] = set()
        self._lst_seen: dict[str, int] = {}  # MSNP2-7 LST lines read per list this sync
        self._last: Contact | None = None
        self.syncing = False

    # -- sync bookkeeping ----------------------------------------------------------------

    def start_sync(self) -> None:
        """A SYN request was sent: completeness is judged from its reply on."""
        self.syncing = True
        self._expect_contacts = None
        self._seen_contacts = 0
        self._lists_done = set()
        self._lst_seen = {}

    def forget_sync(self) -> None:
        """Drop the list version and timestamps: the next sync asks for everything."""
        self.version = 0
        self.stamps = ()

    @property
    def complete(self) -> bool:
        """True when the sync started by ``start_sync`` has delivered everything."""
        return not self.syncing

    def _check_done(self, version: int | None) -> None:
        if not self.syncing:
            return
        if version is not None and version >= TWEENER:
            if self._expect_contacts is not None and self._seen_contacts >= self._expect_contacts:
                self.syncing = False
        elif self._lists_done >= set(LIST_NAMES):
            self.syncing = False

    def _reset(self) -> None:
        self.lists = {name: [] for name in LIST_NAMES}
        self.contacts = {}
        self.groups = {}

    # -- digesting commands --------------------------------------------------------------

    def handle(self, command: Command, version: int | None) -> None:
        """Update the lists from one NS command (others are ignored)."""
        verb, args = command.verb, command.args
        modern = version is not None and version >= TWEENER
        if verb == "SYN" and args:
            self._on_syn(args, version)
        elif verb == "LST":
            if modern and command.trid is None:
                self._on_lst8(args, version)
            else:
                self._on_lst2(args)
            self._check_done(version)
        elif verb == "LSG":
            self._on_lsg(args, version)
        elif verb == "BPR":
            self._on_bpr(args)
        elif verb in ("GTC", "BLP") and args:
            self.settings[verb] = args[-1]
        elif verb == "PRP" and len(args) >= 2:
            self.settings[args[-2]] = unquote(args[-1])
        elif verb == "ADD" and len(args) >= 3:
            self._on_add(args)
        elif verb == "ADC" and len(args) >= 2:
            self._on_adc(args)
        elif verb == "REM" and len(args) >= 2:
            self._on_rem(args)
        elif verb in ("ILN", "NLN") and len(args) >= 2:
            name = unquote(args[2]) if len(args) >= 3 else ""
            extra = args[3:5]  # MSNP8+: client id; MSNP9+: MSNObject
            client_id = int(extra[0]) if extra and extra[0].isdigit() else None
            msn_object = unquote(extra[1]) if len(extra) > 1 else ""
            self.presence[args[1]] = Presence(args[0], name, client_id, msn_object)
            contact = self.contacts.get(args[1])
            if contact is not None and name:
                contact.name = name
        elif verb == "FLN" and args:
            self.presence.pop(args[0], None)

    def _on_syn(self, args: tuple[str, ...], version: int | None) -> None:
        if version is None or version < TWEENER:  # SYN ver: the lists follow unless up to date
            new_version = int(args[0]) if args[0].isdigit() else self.version
            if new_version == self.version and len(args) < 3:
                self.syncing = False  # up to date: nothing follows
                return
            self._reset()
            self.version = new_version
            self._check_done(version)
            return
        # MSNP8-9: SYN ver [contacts groups]; MSNP10-12: SYN stamp stamp [contacts groups]
        head = 1 if version < LIST_FORMAT_10 else 2
        counts = args[head:][-2:]
        if version < LIST_FORMAT_10 and args[0].isdigit():
            self.version = int(args[0])
        elif version >= LIST_FORMAT_10:
            self.stamps = args[:head]
        if len(counts) < 2 or not all(c.isdigit() for c in counts):
            self.syncing = False  # up to date: no counts, nothing follows
            return
        self._reset()
        self._expect_contacts = int(counts[0])
        self._check_done(version)

    def _contact(self, email: str) -> Contact:
        contact = self.contacts.get(email)
        if contact is None:
            contact = self.contacts[email] = Contact(email)
        return contact

    def _on_lst2(self, args: tuple[str, ...]) -> None:
        # LST LIST ver idx total [email name [groups]]  (the TrID is already stripped)
        if len(args) < 4 or args[0] not in LIST_NAMES:
            return
        name, idx, total = args[0], args[2], args[3]
        if args[1].isdigit():
            self.version = int(args[1])
        if total == "0" or not (idx.isdigit() and total.isdigit()):
            self.lists[name] = []
            self._lists_done.add(name)
            return
        if len(args) >= 5:
            email = args[4]
            if email not in self.lists[name]:
                self.lists[name].append(email)
            contact = self._contact(email)
            contact.lists.add(name)
            if len(args) >= 6:
                contact.name = unquote(args[5])
            if len(args) >= 7 and name == "FL":
                contact.groups = args[6].split(",")
        # Done once as many lines as announced have come. The larger of the two numbers is
        # the total: some servers (Escargot at MSNP2-5) send "total idx" instead of "idx
        # total", which would otherwise end the list at its first line.
        seen = self._lst_seen.get(name, 0) + 1
        self._lst_seen[name] = seen
        if seen >= max(int(idx), int(total)):
            self._lists_done.add(name)

    def _on_lst8(self, args: tuple[str, ...], version: int | None) -> None:
        """MSNP8-9 ``LST email name bits [groups]``; MSNP10-12 ``LST N=… F=… C=… bits …``."""
        self._seen_contacts += 1  # counted even if unusable, so the sync still completes
        keyed = {a[:2]: a[2:] for a in args if a[:2] in ("N=", "F=", "C=")}
        if "N=" in keyed:
            rest = [a for a in args if a[:2] not in ("N=", "F=", "C=")]
            email, name = keyed["N="], keyed.get("F=", keyed["N="])
        elif len(args) >= 3:
            email, name, rest = args[0], args[1], list(args[2:])
        else:
            logger.warning("ignoring an LST line without a contact: %r", " ".join(args))
            return
        bits_at = next((i for i, a in enumerate(rest) if a.isdigit()), None)
        if bits_at is None:
            logger.warning("ignoring an LST line without list bits: %r", " ".join(args))
            return
        contact = self._contact(email)
        contact.name = unquote(name)
        contact.guid = keyed.get("C=", contact.guid)
        bits = int(rest[bits_at])
        for list_name, bit in LIST_BITS.items():
            if bits & bit:
                contact.lists.add(list_name)
                if email not in self.lists[list_name]:
                    self.lists[list_name].append(email)
        after = rest[bits_at + 1 :]
        # MSNP12 (and some MSNP11 servers): a network number before the groups. From
        # MSNP11 on group ids are GUIDs, so a lone number there is that field too.
        if after and after[0].isdigit() and (len(after) >= 2 or (version or 0) >= LST_NETWORK_11):
            contact.network = after.pop(0)
        if after:
            contact.groups = [g for g in after[0].split(",") if g]
        self._last = contact

    def _on_lsg(self, args: tuple[str, ...], version: int | None) -> None:
        if version is not None and version >= LIST_FORMAT_10 and len(args) >= 2:  # LSG name id
            self.groups[args[1]] = unquote(args[0])
        elif version is not None and version >= TWEENER and len(args) >= 2:  # LSG id name 0
            self.groups[args[0]] = unquote(args[1])
        elif len(args) >= 5:  # MSNP7: LSG ver idx total id name 0
            self.groups[args[3]] = unquote(args[4])

    def _on_bpr(self, args: tuple[str, ...]) -> None:
        if len(args) == 2 and self._last is not None:  # MSNP8: belongs to the last LST
            self._last.properties[args[0]] = unquote(args[1])
        elif len(args) >= 4:  # MSNP5-7: BPR ver email key value
            self._contact(args[1]).properties[args[2]] = unquote(args[3])

    def _on_add(self, args: tuple[str, ...]) -> None:
        # ADD LIST ver email name [group]  (MSNP2-9)
        name = args[0]
        if name not in self.lists:
            return
        rest = args[2:] if args[1].isdigit() and len(args) >= 4 else args[1:]
        email = rest[0]
        if email not in self.lists[name]:
            self.lists[name].append(email)
        contact = self._contact(email)
        contact.lists.add(name)
        if len(rest) >= 2:
            contact.name = unquote(rest[1])

    def _on_adc(self, args: tuple[str, ...]) -> None:
        # ADC LIST N=email [F=name] [C=guid] [group]  or  ADC FL C=guid group  (MSNP10-12)
        name = args[0]
        if name not in self.lists:
            return
        keyed = {a[:2]: a[2:] for a in args[1:] if a[:2] in ("N=", "F=", "C=")}
        email = keyed.get("N=") or self._email_of(keyed.get("C=", ""))
        if not email:
            return
        if email not in self.lists[name]:
            self.lists[name].append(email)
        contact = self._contact(email)
        contact.lists.add(name)
        contact.guid = keyed.get("C=", contact.guid)
        if "F=" in keyed:
            contact.name = unquote(keyed["F="])

    def _email_of(self, token: str) -> str:
        """``token`` itself if it is a known handle, else the handle whose guid it is."""
        if token in self.contacts:
            return token
        return next((c.email for c in self.contacts.values() if c.guid and c.guid == token), token)

    def _on_rem(self, args: tuple[str, ...]) -> None:
        # REM LIST ver email [group]  (MSNP2-9);  REM LIST email|guid [group]  (MSNP10-12)
        name = args[0]
        if name not in self.lists:
            return
        rest = args[2:] if args[1].isdigit() and len(args) >= 3 else args[1:]
        email = self._email_of(rest[0])
        contact = self.contacts.get(email)
        if len(rest) >= 2 and name == "FL":  # out of one group only
            if contact is not None and rest[1] in contact.groups:
                contact.groups.remove(rest[1])
            return
        if email in self.lists[name]:
            self.lists[name].remove(email)
        if contact is not None:
            contact.lists.discard(name)
