"""msmgr/server/formats: the per-version forms of the lines the reference server sends.

Each function returns a ``Command`` (or a list) in the shape the original servers used
for the negotiated MSNP version (reference b.3, c.1-c.5):

* XFR NS: MSNP2 ``host:port``; 3-6 ``host:port 0``; 7+ ``host:port 0 current:port``.
* USR OK: 2-5 ``email name``; 6-7 ``+ 1`` (verified); 8+ ``+ 1 0`` (verified, restricted).
* CHG/ILN/NLN: the client-id field from MSNP8 on.
* SYN burst: 2-7 every line has the TrID and list version; MSNP8 none of them do.
* QNG: bare up to MSNP8, ``QNG 50`` from MSNP9.
"""

from __future__ import annotations

import time

from msmgr.codec import Command

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
    """``host:port`` as it appears in XFR and RNG."""
    return f"{address[0]}:{address[1]}"


def error(code: int, trid: int | None) -> Command:
    """The numeric error reply ``NNN trid``."""
    return Command(f"{code:03d}", trid if trid is not None else 0)


def ver_reply(trid: int | None, version: int | None) -> Command:
    """``VER trid MSNPn``, or ``VER trid 0`` when no offered version is served."""
    return Command("VER", trid, (f"MSNP{version}" if version is not None else "0",))


def xfr_ns(trid: int | None, version: int, ns: Address, current: Address) -> Command:
    """The DS's redirect to the notification server."""
    args: tuple[str, ...] = ("NS", hostport(ns))
    if version >= 7:
        args += ("0", hostport(current))
    elif version >= 3:
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
    args: tuple[str, ...] = ("OK", email, name)
    if version >= 8:
        args += ("1", "0")
    elif version >= 6:
        args += ("1",)
    return Command("USR", trid, args)


def chg(trid: int | None, version: int, status: str, client_id: int) -> Command:
    """The echo of a status change."""
    args: tuple[str, ...] = (status,)
    if version >= 8:
        args += (str(client_id),)
    return Command("CHG", trid, args)


def iln(
    trid: int | None, version: int, status: str, email: str, name: str, client_id: int
) -> Command:
    """Initial presence of a contact, in reply to CHG or ADD."""
    args: tuple[str, ...] = (status, email, name)
    if version >= 8:
        args += (str(client_id),)
    return Command("ILN", trid, args)


def nln(version: int, status: str, email: str, name: str, client_id: int) -> Command:
    """A contact's presence change."""
    args: tuple[str, ...] = (status, email, name)
    if version >= 8:
        args += (str(client_id),)
    return Command("NLN", None, args)


def fln(email: str) -> Command:
    """A contact went offline (or hidden)."""
    return Command("FLN", None, (email,))


def qng(version: int) -> Command:
    """The answer to PNG."""
    return Command("QNG", None, ("50",) if version >= 9 else ())


def list_reply(
    verb: str, trid: int | None, list_name: str, list_version: int, *rest: str
) -> Command:
    """``ADD``/``REM`` replies and pushes: ``VERB trid LIST ver ...``."""
    return Command(verb, trid, (list_name, str(list_version), *rest))


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
    if version >= 8:
        return _syn8(trid, account, names, phones)
    v = str(ver)
    out = [
        Command("SYN", trid, (v,)),
        Command("GTC", trid, (v, account.gtc)),
        Command("BLP", trid, (v, account.blp)),
    ]
    if version >= 5:
        out += [Command("PRP", trid, (v, k, val)) for k, val in account.properties.items()]
    if version >= 7:
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
            if version >= 7 and list_name == "FL":
                args += (_groups(account, email),)
            out.append(Command("LST", trid, args))
            if version >= 5 and list_name == "FL":
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
