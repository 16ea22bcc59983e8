"""msmgr/server/lists: SYN and the list/group/setting commands of a logged-in NS client.

Each handler takes the state, the client's session and its command; it returns the
replies for that client (or raises ``CommandError``) and posts what other clients must
see (``ADD 0 RL``/``REM 0 RL`` to the contact, NLN/FLN through ``presence.announce``).
Every change bumps the account's list version, which the replies carry.
"""

from __future__ import annotations

from msmgr.codec import Command
from msmgr.codec.versions import GROUPS

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


def list_argument(args: tuple[str, ...], *, least: int = 2) -> str:
    """The list an ADD/ADC/REM names (FL, AL or BL), given ``least`` arguments; else 201."""
    if len(args) < least or args[0] not in ("FL", "AL", "BL"):
        raise CommandError(201)
    return args[0]


def _int(token: str) -> int:
    if not token.isdigit() or len(token) > 9:
        raise CommandError(201)
    return int(token)


def syn(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``SYN trid ver`` -> the list burst in the session version's format."""
    if len(command.args) < 1:
        raise CommandError(201)
    return syn_burst(state, session, command.trid, _int(command.args[0]))


def syn_burst(
    state: ServerState, session: NsSession, trid: int | None, known: int
) -> list[Command]:
    """``formats.syn`` for the session's account (``known``: the client's list version),
    with its contacts' friendly names and the phone numbers of those who allow it."""
    account = state.accounts[session.email]
    contacts = [state.accounts[email] for email in account.contacts()]
    names = {contact.email: contact.name for contact in contacts}
    phones = {
        c.email: {k: v for k, v in c.properties.items() if k in PHONE_PROPERTIES}
        for c in contacts
        if c.allows(account.email)
    }
    return formats.syn(trid, session.version, account, known, names, phones)


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
    list_name, email = list_argument(args, least=3), args[1]
    contact = check_new_contact(state, me, email, unknown=205)
    group: int | None = None
    if list_name == "FL" and session.version >= GROUPS:
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
    list_name, email = list_argument(args), args[1]
    if not me.on(list_name, email):
        raise CommandError(216)
    group: int | None = None
    if list_name == "FL" and session.version >= GROUPS and len(args) > 2:
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
    gid = create_group(me, name)
    return [Command("ADG", command.trid, (str(me.bump()), name, str(gid), "0"))]


def create_group(me: Account, name: str) -> int:
    """Add a group named ``name`` to ``me`` (229 name too long, 223 too many); its number."""
    if len(name) > MAX_GROUP_NAME:
        raise CommandError(229)
    if len(me.groups) >= MAX_GROUPS:
        raise CommandError(223)
    gid = max(me.groups) + 1
    me.groups[gid] = name
    return gid


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
    delete_group(me, gid, regroup=True)
    return [Command("RMG", command.trid, (str(me.bump()), str(gid)))]


def delete_group(me: Account, gid: int, *, regroup: bool) -> None:
    """Remove group ``gid`` from ``me`` and its contacts; ``regroup``: a contact left in
    no group goes to group 0 (MSNP7-9; from MSNP10 it stays on the FL in no group)."""
    del me.groups[gid]
    for groups in me.fl_groups.values():
        if gid in groups:
            groups.remove(gid)
            if regroup and not groups:
                groups.append(0)


def reg(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``REG trid gid name [0]`` (MSNP7+): rename a group."""
    me = state.accounts[session.email]
    if len(command.args) < 2:
        raise CommandError(201)
    gid = _int(command.args[0])
    name = command.args[1]
    if gid not in me.groups:
        raise CommandError(224)
    rename_group(me, gid, name)
    return [Command("REG", command.trid, (str(me.bump()), str(gid), name, "0"))]


def rename_group(me: Account, gid: int, name: str) -> None:
    """Rename ``me``'s group ``gid`` (229 name too long)."""
    if len(name) > MAX_GROUP_NAME:
        raise CommandError(229)
    me.groups[gid] = name


def gtc(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``GTC trid A|N``: whether to prompt when someone adds you."""
    me = state.accounts[session.email]
    me.gtc = _new_setting(command, ("A", "N"), me.gtc)
    me.bump()
    return [Command("GTC", command.trid, (*formats.versioned(session.version, me), me.gtc))]


def _new_setting(command: Command, allowed: tuple[str, ...], current: str) -> str:
    """A GTC/BLP command's one value: among ``allowed`` (else 201), not ``current`` (218)."""
    if len(command.args) != 1 or command.args[0] not in allowed:
        raise CommandError(201)
    if command.args[0] == current:
        raise CommandError(218)
    return command.args[0]


def blp(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``BLP trid AL|BL``: who may see you when on neither AL nor BL."""
    me = state.accounts[session.email]
    blp = _new_setting(command, ("AL", "BL"), me.blp)
    before = presence.audience(state, me.email)
    me.blp = blp
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
