"""msmgr/server/lists10: the MSNP10-12 list commands (address-book GUIDs, no list versions).

The lists, groups and settings are those of ``lists`` (one account model for every
version); only the wire forms differ:

* ``SYN trid <ts> <ts>`` (``0 0`` when nothing is cached) -> the burst of ``formats.syn``
  with timestamps, or just ``SYN trid <ts> <ts>`` when the client's first one is current.
* ``ADC trid FL N=email F=name`` -> ``ADC trid FL N=email F=name C=guid`` (group 0),
  then ILN (and, MSNP11+, UBX) when the contact is visible;
  ``ADC trid AL|BL N=email`` -> ``ADC trid AL|BL N=email``; ``ADC trid FL C=guid gguid``
  puts an FL contact into one more group and is echoed. An unknown handle is 208.
* ``REM trid FL guid [gguid]`` (by contact GUID), ``REM trid AL|BL email`` -> echoed.
  Unlike MSNP7-9, taking a contact out of its last group leaves it on the FL (no group).
* ``ADG trid name`` -> ``ADG trid name gguid``; ``RMG trid gguid``; ``REG trid gguid name``.
* ``PRP trid MFN name`` sets the own friendly name (what REA did; REA is 502 now) and
  tells the watchers with NLN; other PRP keys are the phone numbers, as before.
* ``SBP trid guid MFN name`` (a contact's stored name) is checked and echoed; the server
  keeps showing every contact's own friendly name.
"""

from __future__ import annotations

from msmgr.codec import Command
from msmgr.codec.versions import PERSONAL_MESSAGES

from . import formats, lists, presence
from .accounts import MAX_FRIENDLY_NAME, Account
from .context import CommandError
from .state import NsSession, ServerState


def _field(token: str, prefix: str) -> str:
    if not token.startswith(prefix) or len(token) == len(prefix):
        raise CommandError(201)
    return token[len(prefix) :]


def _contact(me: Account, guid: str) -> str:
    email = me.contact_by_guid(guid)
    if email is None:
        raise CommandError(216)
    return email


def _group(me: Account, guid: str) -> int:
    gid = me.group_by_guid(guid)
    if gid is None:
        raise CommandError(224)
    return gid


def syn(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``SYN trid <ts> <ts>`` -> the MSNP10+ burst (or ``SYN trid ts ts`` if current)."""
    if len(command.args) != 2:
        raise CommandError(201)
    account = state.accounts[session.email]
    if command.args[0] == formats.list_stamp(account.list_version):
        return [formats.syn_current(command.trid, account)]
    return lists.syn_burst(state, session, command.trid, -1)


def adc(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``ADC trid LIST N=email [F=name]`` or ``ADC trid FL C=guid gguid``."""
    me = state.accounts[session.email]
    args = command.args
    list_name = lists.list_argument(args)
    if list_name == "FL" and args[1].startswith("C="):
        if len(args) != 3:
            raise CommandError(201)
        email = _contact(me, _field(args[1], "C="))
        lists.add_to_group(me, email, _group(me, args[2]))
        return [Command("ADC", command.trid, args)]
    email = _field(args[1], "N=")
    contact = lists.check_new_contact(state, me, email, unknown=208)
    if list_name == "FL":
        if len(args) > 3:
            raise CommandError(201)
        name = _field(args[2], "F=") if len(args) == 3 else contact.name
        if len(name) > MAX_FRIENDLY_NAME:
            raise CommandError(209)
        lists.add_to_list(state, me, "FL", email, 0)
        replies = [
            Command(
                "ADC",
                command.trid,
                ("FL", f"N={email}", f"F={name}", f"C={me.contact_guid(email)}"),
            )
        ]
        iln = presence.contact_iln(state, session, email, command.trid)
        if iln is not None:
            replies.append(iln)
            if session.version >= PERSONAL_MESSAGES and contact.personal is not None:
                replies.append(formats.ubx(email, contact.personal))
        return replies
    if len(args) != 2:
        raise CommandError(201)
    lists.add_to_list(state, me, list_name, email, None)
    return [Command("ADC", command.trid, (list_name, f"N={email}"))]


def rem(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``REM trid FL guid [gguid]`` or ``REM trid AL|BL email``."""
    me = state.accounts[session.email]
    args = command.args
    list_name = lists.list_argument(args)
    if list_name == "FL":
        if len(args) > 3:
            raise CommandError(201)
        email = _contact(me, args[1])
        if len(args) == 3:
            if not lists.remove_from_group(me, email, _group(me, args[2])):
                me.bump()  # the last group: the contact stays on the FL, in no group
        else:
            lists.remove_from_list(state, me, "FL", email)
    else:
        if len(args) != 2:
            raise CommandError(201)
        lists.remove_from_list(state, me, list_name, args[1])
    return [Command("REM", command.trid, args)]


def adg(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``ADG trid name`` -> ``ADG trid name gguid``."""
    me = state.accounts[session.email]
    if len(command.args) != 1:
        raise CommandError(201)
    name = command.args[0]
    gid = lists.create_group(me, name)
    me.bump()
    return [Command("ADG", command.trid, (name, me.group_guid(gid)))]


def rmg(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``RMG trid gguid``: remove a group (not group 0, 230); its contacts stay on the FL."""
    me = state.accounts[session.email]
    if len(command.args) != 1:
        raise CommandError(201)
    gid = _group(me, command.args[0])
    if gid == 0:
        raise CommandError(230)
    lists.delete_group(me, gid, regroup=False)
    me.bump()
    return [Command("RMG", command.trid, command.args)]


def reg(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``REG trid gguid name``: rename a group."""
    me = state.accounts[session.email]
    if len(command.args) != 2:
        raise CommandError(201)
    gid = _group(me, command.args[0])
    lists.rename_group(me, gid, command.args[1])
    me.bump()
    return [Command("REG", command.trid, command.args)]


def prp(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``PRP trid MFN name`` (own friendly name) or a phone number, echoed."""
    if command.args[:1] != ("MFN",):
        return lists.prp(state, session, command)
    me = state.accounts[session.email]
    if len(command.args) != 2:
        raise CommandError(201)
    lists.set_friendly_name(state, me, command.args[1])
    me.bump()
    return [Command("PRP", command.trid, command.args)]


def sbp(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """``SBP trid guid MFN name``: a contact's stored name (checked, echoed, not kept)."""
    me = state.accounts[session.email]
    if len(command.args) != 3 or command.args[1] != "MFN":
        raise CommandError(201)
    _contact(me, command.args[0])
    if len(command.args[2]) > MAX_FRIENDLY_NAME:
        raise CommandError(209)
    return [Command("SBP", command.trid, command.args)]
