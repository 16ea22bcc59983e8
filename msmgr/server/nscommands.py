"""msmgr/server/nscommands: which handler serves a logged-in NS command in which version.

One table, verb -> version ranges: a range maps to a handler, or to the error code the
originals answered once the command was gone (``ADD`` and ``REA`` from MSNP10: 502,
command disabled). A verb before the version that introduced it is 200 (unknown then);
a known verb that is not in the table here (PAG, PGD, ...) is 715.
"""

from __future__ import annotations

from collections.abc import Callable

from msmgr.codec import Command

from . import lists, lists10, personal
from .context import CommandError, unexpected
from .state import NsSession, ServerState

Handler = Callable[[ServerState, NsSession, Command], list[Command]]

LAST = 12
"""The last version the table covers (context.MAX_VERSION)."""

TABLE: dict[str, tuple[tuple[int, int, Handler | int], ...]] = {
    "SYN": ((2, 9, lists.syn), (10, LAST, lists10.syn)),
    "ADD": ((2, 9, lists.add), (10, LAST, 502)),
    "ADC": ((10, LAST, lists10.adc),),
    "REM": ((2, 9, lists.rem), (10, LAST, lists10.rem)),
    "GTC": ((2, LAST, lists.gtc),),
    "BLP": ((2, LAST, lists.blp),),
    "REA": ((2, 9, lists.rea), (10, LAST, 502)),
    "PRP": ((5, 9, lists.prp), (10, LAST, lists10.prp)),
    "ADG": ((7, 9, lists.adg), (10, LAST, lists10.adg)),
    "RMG": ((7, 9, lists.rmg), (10, LAST, lists10.rmg)),
    "REG": ((7, 9, lists.reg), (10, LAST, lists10.reg)),
    "SBP": ((10, LAST, lists10.sbp),),
    "UUX": ((10, LAST, personal.uux),),
    "GCF": ((11, LAST, personal.gcf),),
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
