"""msmgr/server/lists: SYN and the list/group/setting commands of a logged-in NS client.

Each handler takes the state, the client's session and its command; it returns the
replies for that client (or raises ``CommandError``) and posts what other clients must
see (``ADD 0 RL``/``REM 0 RL`` to the contact, NLN/FLN through ``presence.announce``).
Every change bumps the account's list version, which the replies carry.
"""

from __future__ import annotations

from msmgr.codec import Command

from . import formats, presence
from .accounts import (
    MAX_FRIENDLY_NAME,
    MAX_GROUP_NAME,
    MAX_GROUPS,
    PHONE_PROPERTIES,
    PROPERTIES,
    Account,
    valid_handle,
)
from .context import CommandError
from .state import NsSession, ServerState

OPPOSITE = {"AL": "BL", "BL": "AL"}


def _int(token: str) -> int:
    if not token.isdigit() or len(token) > 9:
        raise CommandError(201)
    return int(token)


def syn(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``SYN trid ver`` -> the list burst in the session version's format."""
    if len(command.args) < 1:
        raise CommandError(201)
    known = _int(command.args[0])
    account = state.accounts[session.email]
    contacts = [state.accounts[email] for email in account.contacts()]
    names = {contact.email: contact.name for contact in contacts}
    phones = {
        c.email: {k: v for k, v in c.properties.items() if k in PHONE_PROPERTIES}
        for c in contacts
        if c.allows(account.email)
    }
    return formats.syn(command.trid, session.version, account, known, names, phones)


def prp(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``PRP trid KEY [value]`` (MSNP5+): set (or, without a value, clear) a phone number."""
    me = state.accounts[session.email]
    if not 1 <= len(command.args) <= 2 or command.args[0] not in PROPERTIES:
        raise CommandError(201)
    key = command.args[0]
    value = command.args[1] if len(command.args) == 2 else ""
    if value:
        me.properties[key] = value
    else:
        me.properties.pop(key, None)
    me.bump()
    rest = (key, *((value,) if value else ()))
    return [Command("PRP", command.trid, (*formats.versioned(session.version, me), *rest))]


def add(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``ADD trid LIST email name [group]`` (MSNP2-9): add a contact to FL, AL or BL."""
    me = state.accounts[session.email]
    args = command.args
    if len(args) < 3 or args[0] not in ("FL", "AL", "BL"):
        raise CommandError(201)
    list_name, email = args[0], args[1]
    contact = check_new_contact(state, me, email, unknown=205)
    group: int | None = None
    if list_name == "FL" and session.version >= 7:
        group = _int(args[3]) if len(args) > 3 else 0
    regroup = (
        group is not None
        and me.on("FL", email)
        and group in me.groups
        and group not in me.fl_groups.get(email, [])
    )
    if regroup:
        assert group is not None
        add_to_group(me, email, group)
    else:
        add_to_list(state, me, list_name, email, group)
    replies = [_list_line("ADD", command.trid, list_name, me, email, contact.name, group)]
    if list_name == "FL" and not regroup:
        iln = presence.contact_iln(state, session, email, command.trid)
        if iln is not None:
            replies.append(iln)
    return replies


def check_new_contact(state: ServerState, me: Account, email: str, *, unknown: int) -> Account:
    """The account ``email`` names, if ``me`` may add it (``unknown``: the not-found code)."""
    if not valid_handle(email):
        raise CommandError(201)
    contact = state.accounts.get(email)
    if contact is None:
        raise CommandError(unknown)
    if email == me.email:
        raise CommandError(201)
    return contact


def add_to_list(
    state: ServerState, me: Account, list_name: str, email: str, group: int | None
) -> None:
    """Put ``email`` on ``me``'s FL (in ``group``, default 0), AL or BL; tell whom it concerns.

    Errors: 224 no such group, 219 on the opposite list, 215 already on the list.
    """
    if group is not None and group not in me.groups:
        raise CommandError(224)
    if list_name in OPPOSITE and me.on(OPPOSITE[list_name], email):
        raise CommandError(219)
    if me.on(list_name, email):
        raise CommandError(215)
    before = presence.audience(state, me.email)
    me.lists[list_name].append(email)
    if list_name == "FL":
        me.fl_groups[email] = [group if group is not None else 0]
    me.bump()
    if list_name != "FL":
        presence.announce(state, me.email, before)
        return
    contact = state.accounts[email]
    if not contact.on("RL", me.email):
        contact.lists["RL"].append(me.email)
        ver = contact.bump()
        other = state.sessions.get(email)
        if other is not None:
            other.outbox.post(formats.rl_added(other.version, ver, me.email, me.name))


def add_to_group(me: Account, email: str, group: int) -> None:
    """Put an FL contact into one more group (224 no such group, 215 already in it)."""
    if group not in me.groups:
        raise CommandError(224)
    groups = me.fl_groups.setdefault(email, [])
    if group in groups:
        raise CommandError(215)
    groups.append(group)
    me.bump()


def rem(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``REM trid LIST email [group]``: remove a contact (or, with a group, from the group).

    Removing a contact from its last group removes it from the FL (MSNP7-9).
    """
    me = state.accounts[session.email]
    args = command.args
    if len(args) < 2 or args[0] not in ("FL", "AL", "BL"):
        raise CommandError(201)
    list_name, email = args[0], args[1]
    if not me.on(list_name, email):
        raise CommandError(216)
    group: int | None = None
    if list_name == "FL" and session.version >= 7 and len(args) > 2:
        group = _int(args[2])
        if remove_from_group(me, email, group):
            return [_list_line("REM", command.trid, "FL", me, email, None, group)]
    remove_from_list(state, me, list_name, email)
    return [_list_line("REM", command.trid, list_name, me, email, None, group)]


def remove_from_group(me: Account, email: str, group: int) -> bool:
    """Take an FL contact out of ``group`` (225 if not in it); whether groups remain.

    When none remain the list version is left for the caller's next step to bump.
    """
    groups = me.fl_groups.get(email, [])
    if group not in groups:
        raise CommandError(225)
    groups.remove(group)
    if groups:
        me.bump()
        return True
    return False


def remove_from_list(state: ServerState, me: Account, list_name: str, email: str) -> None:
    """Take ``email`` off ``me``'s ``list_name`` (216 if absent); tell whom it concerns."""
    if not me.on(list_name, email):
        raise CommandError(216)
    before = presence.audience(state, me.email)
    me.lists[list_name].remove(email)
    if list_name == "FL":
        me.fl_groups.pop(email, None)
    me.bump()
    if list_name != "FL":
        presence.announce(state, me.email, before)
        return
    contact = state.accounts[email]
    if contact.on("RL", me.email):
        contact.lists["RL"].remove(me.email)
        ver = contact.bump()
        other = state.sessions.get(email)
        if other is not None:
            other.outbox.post(formats.rl_removed(other.version, ver, me.email))


def _list_line(
    verb: str,
    trid: int | None,
    list_name: str,
    me: Account,
    email: str,
    name: str | None,
    group: int | None,
) -> Command:
    rest = [email] if name is None else [email, name]
    if group is not None:
        rest.append(str(group))
    return formats.list_reply(verb, trid, list_name, me.list_version, *rest)


def adg(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``ADG trid name 0`` (MSNP7+): a new group."""
    me = state.accounts[session.email]
    if not command.args:
        raise CommandError(201)
    name = command.args[0]
    if len(name) > MAX_GROUP_NAME:
        raise CommandError(229)
    if len(me.groups) >= MAX_GROUPS:
        raise CommandError(223)
    gid = max(me.groups) + 1
    me.groups[gid] = name
    return [Command("ADG", command.trid, (str(me.bump()), name, str(gid), "0"))]


def rmg(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``RMG trid gid`` (MSNP7+): remove a group; its contacts move to group 0."""
    me = state.accounts[session.email]
    if not command.args:
        raise CommandError(201)
    gid = _int(command.args[0])
    if gid == 0:
        raise CommandError(230)
    if gid not in me.groups:
        raise CommandError(224)
    del me.groups[gid]
    for groups in me.fl_groups.values():
        if gid in groups:
            groups.remove(gid)
            if not groups:
                groups.append(0)
    return [Command("RMG", command.trid, (str(me.bump()), str(gid)))]


def reg(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``REG trid gid name [0]`` (MSNP7+): rename a group."""
    me = state.accounts[session.email]
    if len(command.args) < 2:
        raise CommandError(201)
    gid = _int(command.args[0])
    name = command.args[1]
    if gid not in me.groups:
        raise CommandError(224)
    if len(name) > MAX_GROUP_NAME:
        raise CommandError(229)
    me.groups[gid] = name
    return [Command("REG", command.trid, (str(me.bump()), str(gid), name, "0"))]


def gtc(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``GTC trid A|N``: whether to prompt when someone adds you."""
    me = state.accounts[session.email]
    if len(command.args) != 1 or command.args[0] not in ("A", "N"):
        raise CommandError(201)
    if me.gtc == command.args[0]:
        raise CommandError(218)
    me.gtc = command.args[0]
    me.bump()
    return [Command("GTC", command.trid, (*formats.versioned(session.version, me), me.gtc))]


def blp(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``BLP trid AL|BL``: who may see you when on neither AL nor BL."""
    me = state.accounts[session.email]
    if len(command.args) != 1 or command.args[0] not in ("AL", "BL"):
        raise CommandError(201)
    if me.blp == command.args[0]:
        raise CommandError(218)
    before = presence.audience(state, me.email)
    me.blp = command.args[0]
    presence.announce(state, me.email, before)
    me.bump()
    return [Command("BLP", command.trid, (*formats.versioned(session.version, me), me.blp))]


def rea(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``REA trid email name``: change your own friendly name (watchers get NLN)."""
    me = state.accounts[session.email]
    if len(command.args) != 2:
        raise CommandError(201)
    email, name = command.args
    if email != me.email:
        raise CommandError(201)
    set_friendly_name(state, me, name)
    return [Command("REA", command.trid, (str(me.bump()), email, name))]


def set_friendly_name(state: ServerState, me: Account, name: str) -> None:
    """Change ``me``'s friendly name (209 if too long); watchers get NLN with it."""
    if not name or len(name) > MAX_FRIENDLY_NAME:
        raise CommandError(209)
    before = presence.audience(state, me.email)
    me.name = name
    presence.announce(state, me.email, before, force=True)
