"""msmgr/server/nscommands: which handler serves a logged-in NS command in which version.

One table, verb -> version ranges: a range maps to a handler, or to the error code the
originals answered once the command was gone (``ADD`` and ``REA`` from MSNP10: 502,
command disabled). A verb before the version that introduced it is 200 (unknown then);
a known verb that is not in the table here (PAG, PGD, ...) is 715.
"""

from __future__ import annotations

from collections.abc import Callable

from msmgr.codec import Command
from msmgr.codec.versions import (
    GROUPS,
    LIST_FORMAT_10,
    MAX_SERVED_VERSION,
    MIN_VERSION,
    PERSONAL_MESSAGE_SET,
    PRIVACY_PROPERTIES,
    SHIELDS_CONFIG,
)

from . import lists, lists10, personal
from .context import CommandError, unexpected
from .state import NsSession, ServerState

Handler = Callable[[ServerState, NsSession, Command], list[Command]]

LAST = MAX_SERVED_VERSION
"""The last version the table covers."""
OLD_LISTS = LIST_FORMAT_10 - 1
"""The last version of the list commands before contacts by GUID."""

TABLE: dict[str, tuple[tuple[int, int, Handler | int], ...]] = {
    "SYN": ((MIN_VERSION, OLD_LISTS, lists.syn), (LIST_FORMAT_10, LAST, lists10.syn)),
    "ADD": ((MIN_VERSION, OLD_LISTS, lists.add), (LIST_FORMAT_10, LAST, 502)),
    "ADC": ((LIST_FORMAT_10, LAST, lists10.adc),),
    "REM": ((MIN_VERSION, OLD_LISTS, lists.rem), (LIST_FORMAT_10, LAST, lists10.rem)),
    "GTC": ((MIN_VERSION, LAST, lists.gtc),),
    "BLP": ((MIN_VERSION, LAST, lists.blp),),
    "REA": ((MIN_VERSION, OLD_LISTS, lists.rea), (LIST_FORMAT_10, LAST, 502)),
    "PRP": ((PRIVACY_PROPERTIES, OLD_LISTS, lists.prp), (LIST_FORMAT_10, LAST, lists10.prp)),
    "ADG": ((GROUPS, OLD_LISTS, lists.adg), (LIST_FORMAT_10, LAST, lists10.adg)),
    "RMG": ((GROUPS, OLD_LISTS, lists.rmg), (LIST_FORMAT_10, LAST, lists10.rmg)),
    "REG": ((GROUPS, OLD_LISTS, lists.reg), (LIST_FORMAT_10, LAST, lists10.reg)),
    "SBP": ((LIST_FORMAT_10, LAST, lists10.sbp),),
    "UUX": ((PERSONAL_MESSAGE_SET, LAST, personal.uux),),
    "GCF": ((SHIELDS_CONFIG, LAST, personal.gcf),),
}
"""Verb -> (first version, last version, handler or error code) ranges."""


def handler_for(verb: str, version: int) -> Handler:
    """The handler of ``verb`` in ``version``.

    Raises:
        CommandError: the command is not served in that version (see the module doc).
    """
    ranges = TABLE.get(verb)
    if ranges is None:
        raise CommandError(unexpected(verb))
    for first, last, entry in ranges:
        if first <= version <= last:
            if isinstance(entry, int):
                raise CommandError(entry)
            return entry
    raise CommandError(200)
