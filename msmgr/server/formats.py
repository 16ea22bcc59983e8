"""msmgr/server/formats: the per-version forms of the lines the reference server sends.

Each function returns a ``Command`` (or a list) in the shape the original servers used
for the negotiated MSNP version (reference b.3, c.1-c.5):

* XFR NS: MSNP2 ``host:port``; 3-6 ``host:port 0``; 7+ ``host:port 0 current:port``.
* USR OK: 2-5 ``email name``; 6-7 ``+ 1`` (verified); 8-9 ``+ 1 0`` (verified,
  restricted); 10+ ``OK email 1 0`` (no friendly name).
* CHG/ILN/NLN: the client-id field from MSNP8 on; from MSNP9 the URL-encoded MSNObject
  after it, when the client set one.
* SYN burst: 2-7 every line has the TrID and list version; MSNP8-9 none of them do;
  MSNP10+ ``SYN trid <ts> <ts> n m``, ``PRP MFN``, ``LSG name guid`` and
  ``LST N= F= C= bits [groupguids]`` (MSNP12: a network id ``1`` before the groups).
* List replies: up to MSNP9 with the list version (``ADD trid FL 12 ...``); MSNP10+
  without it (``ADC trid FL N=... F=... C=...``, ``GTC trid A``).
* QNG: bare up to MSNP8, ``QNG 50`` from MSNP9.
* SB IRO/JOI: the participant's client capabilities at the end from MSNP12 on.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from msmgr.codec import Command, format_address
from msmgr.codec.versions import (
    CAPABILITIES_12,
    GROUPS,
    LIST_FORMAT_10,
    MSNOBJ,
    PING_INTERVAL,
    PRIVACY_PROPERTIES,
    TWEENER,
    VERIFIED_FLAG,
    XFR_NS_CURRENT,
    XFR_NS_ZERO,
)

from .accounts import LISTS, Account

Address = tuple[str, int]

CVR_REPLY = (
    "5.0.0537",
    "5.0.0537",
    "1.0.0863",
    "http://download.microsoft.com/download/msnmessenger/install/5.0/w98nt42kmexp/en-us/setupdl.exe",
    "http://messenger.msn.com",
)


def hostport(address: Address) -> str:
    """``host:port`` as it appears in XFR and RNG (an IPv6 host in brackets: ``[::1]:1865``)."""
    return format_address(address[0], address[1])


def error(code: int, trid: int | None) -> Command:
    """The numeric error reply ``NNN trid``."""
    return Command(f"{code:03d}", trid if trid is not None else 0)


def ver_reply(trid: int | None, version: int | None) -> Command:
    """``VER trid MSNPn``, or ``VER trid 0`` when no offered version is served."""
    return Command("VER", trid, (f"MSNP{version}" if version is not None else "0",))


def xfr_ns(trid: int | None, version: int, ns: Address, current: Address) -> Command:
    """The DS's redirect to the notification server."""
    args: tuple[str, ...] = ("NS", hostport(ns))
    if version >= XFR_NS_CURRENT:
        args += ("0", hostport(current))
    elif version >= XFR_NS_ZERO:
        args += ("0",)
    return Command("XFR", trid, args)


def xfr_sb(trid: int | None, sb: Address, cookie: str) -> Command:
    """The NS's answer to ``XFR trid SB``."""
    return Command("XFR", trid, ("SB", hostport(sb), "CKI", cookie))


def rng(sessid: int, sb: Address, cookie: str, inviter: str, name: str) -> Command:
    """An invitation to a switchboard, sent to the invitee's NS connection."""
    return Command("RNG", None, (str(sessid), hostport(sb), "CKI", cookie, inviter, name))


def usr_ok(trid: int | None, version: int, email: str, name: str) -> Command:
    """The NS's ``USR trid OK`` with the flags of ``version``."""
    if version >= LIST_FORMAT_10:
        return Command("USR", trid, ("OK", email, "1", "0"))
    args: tuple[str, ...] = ("OK", email, name)
    if version >= TWEENER:
        args += ("1", "0")
    elif version >= VERIFIED_FLAG:
        args += ("1",)
    return Command("USR", trid, args)


def _client(version: int, client_id: int, msnobj: str) -> tuple[str, ...]:
    if version < TWEENER:
        return ()
    if version >= MSNOBJ and msnobj:
        return (str(client_id), msnobj)
    return (str(client_id),)


def chg(trid: int | None, version: int, status: str, client_id: int, msnobj: str = "") -> Command:
    """The echo of a status change."""
    return Command("CHG", trid, (status, *_client(version, client_id, msnobj)))


def iln(
    trid: int | None,
    version: int,
    status: str,
    email: str,
    name: str,
    client_id: int,
    msnobj: str = "",
) -> Command:
    """Initial presence of a contact, in reply to CHG or ADD/ADC."""
    return Command("ILN", trid, (status, email, name, *_client(version, client_id, msnobj)))


def nln(
    version: int, status: str, email: str, name: str, client_id: int, msnobj: str = ""
) -> Command:
    """A contact's presence change."""
    return Command("NLN", None, (status, email, name, *_client(version, client_id, msnobj)))


def ubx(email: str, personal: bytes) -> Command:
    """A contact's personal message and current media (MSNP11+), the UUX payload as sent."""
    return Command("UBX", None, (email,), personal)


def sbs() -> Command:
    """The line MSNP11+ servers sent between ``USR OK`` and the profile."""
    return Command("SBS", 0, ("null",))


SHIELDS_XML = (
    b'<?xml version="1.0" encoding="utf-8" ?>'
    b'<config><shield><cli maj="7" min="0" minbld="0" maxbld="9999" deny=" " /></shield>'
    b"<block></block></config>"
)
"""The answer to ``GCF trid Shields.xml`` (MSNP11+): no client is denied anything."""


def gcf(trid: int | None, filename: str) -> Command:
    """``GCF trid Shields.xml len`` + the configuration file."""
    return Command("GCF", trid, (filename,), SHIELDS_XML)


def iro(
    trid: int | None, version: int, index: int, total: int, email: str, name: str, caps: int
) -> Command:
    """One participant of a switchboard, for a client that answered RNG (ANS)."""
    args: tuple[str, ...] = (str(index), str(total), email, name)
    if version >= CAPABILITIES_12:
        args += (str(caps),)
    return Command("IRO", trid, args)


def joi(version: int, email: str, name: str, caps: int) -> Command:
    """A participant joined the switchboard (``caps`` shown to MSNP12+ clients)."""
    args: tuple[str, ...] = (email, name)
    if version >= CAPABILITIES_12:
        args += (str(caps),)
    return Command("JOI", None, args)


def fln(email: str) -> Command:
    """A contact went offline (or hidden)."""
    return Command("FLN", None, (email,))


def qng(version: int) -> Command:
    """The answer to PNG."""
    return Command("QNG", None, ("50",) if version >= PING_INTERVAL else ())


def list_reply(
    verb: str, trid: int | None, list_name: str, list_version: int, *rest: str
) -> Command:
    """``ADD``/``REM`` replies and pushes: ``VERB trid LIST ver ...``."""
    return Command(verb, trid, (list_name, str(list_version), *rest))


def versioned(version: int, account: Account) -> tuple[str, ...]:
    """The list-version field of a reply: ``(ver,)`` up to MSNP9, nothing from MSNP10."""
    return () if version >= LIST_FORMAT_10 else (str(account.list_version),)


def rl_added(version: int, list_version: int, email: str, name: str) -> Command:
    """Told to a contact when ``email`` adds it: ``ADD 0 RL ver`` / ``ADC 0 RL N= F=``."""
    if version >= LIST_FORMAT_10:
        return Command("ADC", 0, ("RL", f"N={email}", f"F={name}"))
    return list_reply("ADD", 0, "RL", list_version, email, name)


def rl_removed(version: int, list_version: int, email: str) -> Command:
    """Told to a contact when ``email`` removes it: ``REM 0 RL [ver] email``."""
    if version >= LIST_FORMAT_10:
        return Command("REM", 0, ("RL", email))
    return list_reply("REM", 0, "RL", list_version, email)


SYN_EPOCH = datetime(2005, 1, 1, tzinfo=UTC)


def list_stamp(list_version: int) -> str:
    """The MSNP10+ SYN timestamp standing for ``list_version`` (one second per change)."""
    when = SYN_EPOCH + timedelta(seconds=list_version)
    return f"{when:%Y-%m-%dT%H:%M:%S}.0000000-00:00"


def syn(
    trid: int | None,
    version: int,
    account: Account,
    known: int,
    names: dict[str, str],
    phones: dict[str, dict[str, str]] | None = None,
) -> list[Command]:
    """The whole answer to ``SYN trid known`` (just the SYN line when up to date).

    Args:
        names: handle -> URL-encoded friendly name of every contact.
        phones: handle -> the phone properties a contact shows (BPR, MSNP5+).
    """
    phones = phones or {}
    ver = account.list_version
    if known == ver:
        return [Command("SYN", trid, (str(ver),))]
    if version >= LIST_FORMAT_10:
        return _syn10(trid, version, account, names, phones)
    if version >= TWEENER:
        return _syn8(trid, account, names, phones)
    v = str(ver)
    out = [
        Command("SYN", trid, (v,)),
        Command("GTC", trid, (v, account.gtc)),
        Command("BLP", trid, (v, account.blp)),
    ]
    if version >= PRIVACY_PROPERTIES:
        out += [Command("PRP", trid, (v, k, val)) for k, val in account.properties.items()]
    if version >= GROUPS:
        total = str(len(account.groups))
        for idx, (gid, gname) in enumerate(sorted(account.groups.items()), 1):
            out.append(Command("LSG", trid, (v, str(idx), total, str(gid), gname, "0")))
    for list_name in LISTS:
        members = account.lists[list_name]
        if not members:
            out.append(Command("LST", trid, (list_name, v, "0", "0")))
            continue
        for idx, email in enumerate(members, 1):
            args: tuple[str, ...] = (
                list_name,
                v,
                str(idx),
                str(len(members)),
                email,
                names.get(email, email),
            )
            if version >= GROUPS and list_name == "FL":
                args += (_groups(account, email),)
            out.append(Command("LST", trid, args))
            if version >= PRIVACY_PROPERTIES and list_name == "FL":
                out += [
                    Command("BPR", None, (v, email, k, val))
                    for k, val in phones.get(email, {}).items()
                ]
    return out


def _syn8(
    trid: int | None, account: Account, names: dict[str, str], phones: dict[str, dict[str, str]]
) -> list[Command]:
    contacts = account.contacts()
    out = [
        Command(
            "SYN", trid, (str(account.list_version), str(len(contacts)), str(len(account.groups)))
        ),
        Command("GTC", None, (account.gtc,)),
        Command("BLP", None, (account.blp,)),
    ]
    out += [Command("PRP", None, (k, val)) for k, val in account.properties.items()]
    for gid, gname in sorted(account.groups.items()):
        out.append(Command("LSG", None, (str(gid), gname, "0")))
    for email in contacts:
        args: tuple[str, ...] = (email, names.get(email, email), str(account.list_bits(email)))
        if account.on("FL", email):
            args += (_groups(account, email),)
        out.append(Command("LST", None, args))
        if account.on("FL", email):
            out += [Command("BPR", None, (k, val)) for k, val in phones.get(email, {}).items()]
    return out


def syn_current(trid: int | None, account: Account) -> Command:
    """The MSNP10+ answer to a SYN whose timestamps are current: ``SYN trid ts ts``."""
    stamp = list_stamp(account.list_version)
    return Command("SYN", trid, (stamp, stamp))


def _syn10(
    trid: int | None,
    version: int,
    account: Account,
    names: dict[str, str],
    phones: dict[str, dict[str, str]],
) -> list[Command]:
    contacts = account.contacts()
    stamp = list_stamp(account.list_version)
    out = [
        Command("SYN", trid, (stamp, stamp, str(len(contacts)), str(len(account.groups)))),
        Command("GTC", None, (account.gtc,)),
        Command("BLP", None, (account.blp,)),
        Command("PRP", None, ("MFN", account.name)),
    ]
    out += [Command("PRP", None, (k, val)) for k, val in account.properties.items()]
    for gid, gname in sorted(account.groups.items()):
        out.append(Command("LSG", None, (gname, account.group_guid(gid))))
    for email in contacts:
        out.append(lst10(version, account, email, names.get(email, email)))
        if account.on("FL", email):
            out += [Command("BPR", None, (k, val)) for k, val in phones.get(email, {}).items()]
    return out


def lst10(version: int, account: Account, email: str, name: str) -> Command:
    """One MSNP10+ LST line: ``N= F= [C=] bits [1 (MSNP12)] [group GUIDs if on FL]``.

    Only FL contacts (address-book entries) have a contact GUID and groups.
    """
    args: tuple[str, ...] = (f"N={email}", f"F={name}")
    on_fl = account.on("FL", email)
    if on_fl:
        args += (f"C={account.contact_guid(email)}",)
    args += (str(account.list_bits(email)),)
    if version >= CAPABILITIES_12:
        args += ("1",)
    groups = account.fl_groups.get(email, []) if on_fl else []
    if groups:
        args += (",".join(account.group_guid(g) for g in groups),)
    return Command("LST", None, args)


def _groups(account: Account, email: str) -> str:
    return ",".join(str(g) for g in account.fl_groups.get(email, [0])) or "0"


def client_port(port: int) -> int:
    """ClientPort as the originals wrote it: the port's two bytes swapped."""
    return ((port & 0xFF) << 8) | (port >> 8)


def profile(account: Account, mspauth: str, client: Address) -> Command:
    """The ``MSG Hotmail Hotmail`` text/x-msmsgsprofile message sent after login."""
    fields = [
        ("LoginTime", str(int(time.time()))),
        ("EmailEnabled", "1"),
        ("MemberIdHigh", "0"),
        ("MemberIdLow", str(account.member_id - 2**31)),
        ("lang_preference", "1033"),
        ("preferredEmail", account.email),
        ("country", "US"),
        ("PostalCode", ""),
        ("Gender", ""),
        ("Kid", "0"),
        ("Age", ""),
        ("BDayPre", ""),
        ("Birthday", ""),
        ("Wallet", ""),
        ("Flags", "1027"),
        ("sid", "507"),
        ("kv", "5"),
        ("MSPAuth", mspauth),
        ("ClientIP", client[0]),
        ("ClientPort", str(client_port(client[1]))),
    ]
    text = "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n"
    text += "".join(f"{key}: {value}\r\n" for key, value in fields) + "\r\n"
    return Command("MSG", None, ("Hotmail", "Hotmail"), text.encode("utf-8"))
