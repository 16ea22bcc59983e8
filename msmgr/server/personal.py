"""msmgr/server/personal: UUX (personal message, MSNP10+) and GCF (MSNP11+).

* ``UUX trid len`` + ``<Data><PSM>...</PSM><CurrentMedia>...</CurrentMedia></Data>`` ->
  ``UUX trid 0``. The payload is kept as sent (checked for shape, not parsed: UTF-8,
  ``<Data>...</Data>``, at most ``MAX_PERSONAL`` bytes, else 201) and relayed byte for
  byte as ``UBX email len`` to the MSNP11+ watchers now and whenever they start seeing
  the account (``presence``).
* ``GCF trid Shields.xml`` -> ``GCF trid Shields.xml len`` + a permissive shields file;
  any other file name is 201.
"""

from __future__ import annotations

from msmgr.codec import Command

from . import formats, presence
from .context import CommandError
from .state import NsSession, ServerState

MAX_PERSONAL = 4096
"""Largest accepted UUX payload in bytes (the 7.x clients sent a few hundred)."""


def uux(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """Store the personal message and tell the watchers."""
    payload = command.payload
    if command.args or payload is None or len(payload) > MAX_PERSONAL:
        raise CommandError(201)
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CommandError(201) from None
    if not (text.startswith("<Data>") and text.endswith("</Data>")):
        raise CommandError(201)
    state.accounts[session.email].personal = payload
    presence.personal_changed(state, session.email)
    return [Command("UUX", command.trid, (), b"")]


def gcf(state: ServerState, session: NsSession, command: Command) -> list[Command]:
    """Send the shields configuration."""
    if command.args != ("Shields.xml",):
        raise CommandError(201)
    return [formats.gcf(command.trid, "Shields.xml")]
