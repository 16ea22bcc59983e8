"""msmgr/server/presence: who sees whom, and the ILN/NLN/FLN that follow from it.

Watcher W sees account U's status when W is online (has sent a CHG, HDN included), U is
on W's FL, U allows W (W on U's AL, or on neither AL nor BL while U's BLP is AL) and U's
status is not HDN. Any change (CHG, REA, AL/BL/BLP edits, login, logout) is handled the
same way: take ``audience(U)`` before, apply the change, then ``announce(U, before)``
sends NLN to every watcher whose view changed and FLN to every watcher who lost it.

MSNP9+ watchers also get the owner's MSNObject in ILN/NLN; MSNP11+ watchers get the
owner's personal message (``UBX``) when they start seeing it (after the ILNs of their
first CHG, or after the NLN of a contact coming online) and whenever it changes (UUX).
"""

from __future__ import annotations

from msmgr.codec import Command
from msmgr.codec.versions import PERSONAL_MESSAGES

from . import formats
from .state import NsSession, ServerState

STATUSES = frozenset({"NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN", "HDN"})


def visible_status(state: ServerState, email: str) -> str | None:
    """The status others may see of ``email``: None when offline or hidden."""
    session = state.online(email)
    if session is None or session.status == "HDN":
        return None
    return session.status


def audience(state: ServerState, owner: str) -> dict[str, str]:
    """Watcher e-mail -> the status of ``owner`` each one sees now."""
    status = visible_status(state, owner)
    if status is None:
        return {}
    account = state.accounts[owner]
    return {
        email: status
        for email, session in state.sessions.items()
        if email != owner
        and session.status is not None
        and state.accounts[email].on("FL", owner)
        and account.allows(email)
    }


def announce(
    state: ServerState, owner: str, before: dict[str, str], *, force: bool = False
) -> None:
    """Post NLN/FLN to ``owner``'s watchers whose view changed since ``before``.

    Args:
        force: send NLN to every current watcher (the friendly name changed).
    """
    after = audience(state, owner)
    session = state.sessions.get(owner)
    account = state.accounts[owner]
    client_id = session.client_id if session is not None else 0
    msnobj = session.msnobj if session is not None else ""
    for email, status in after.items():
        if force or before.get(email) != status:
            target = state.sessions[email]
            target.outbox.post(
                formats.nln(target.version, status, owner, account.name, client_id, msnobj)
            )
            shows_personal = target.version >= PERSONAL_MESSAGES
            if email not in before and shows_personal and account.personal is not None:
                target.outbox.post(formats.ubx(owner, account.personal))
    for email in before:
        gone = state.sessions.get(email)
        if email not in after and gone is not None:
            gone.outbox.post(formats.fln(owner))


def initial(state: ServerState, session: NsSession, trid: int | None) -> list[Command]:
    """ILN (with ``trid``) for each contact on the session's FL that it may see now."""
    account = state.accounts[session.email]
    lines = []
    personal = []
    for email in account.lists["FL"]:
        iln = contact_iln(state, session, email, trid)
        if iln is not None:
            lines.append(iln)
            text = state.accounts[email].personal
            if session.version >= PERSONAL_MESSAGES and text is not None:
                personal.append(formats.ubx(email, text))
    return lines + personal


def personal_changed(state: ServerState, owner: str) -> None:
    """Post the owner's new personal message (UBX) to its MSNP11+ watchers."""
    personal = state.accounts[owner].personal
    if personal is None:
        return
    for email in audience(state, owner):
        target = state.sessions[email]
        if target.version >= PERSONAL_MESSAGES:
            target.outbox.post(formats.ubx(owner, personal))


def contact_iln(
    state: ServerState, session: NsSession, email: str, trid: int | None
) -> Command | None:
    """ILN for one contact if ``session`` may see it now, else None."""
    if session.status is None:
        return None
    status = visible_status(state, email)
    if status is None or not state.accounts[email].allows(session.email):
        return None
    contact = state.sessions[email]
    name = state.accounts[email].name
    return formats.iln(
        trid, session.version, status, email, name, contact.client_id, contact.msnobj
    )
