"""msmgr/codec/tables: which commands carry a payload and which carry a TrID.

Strategy: MSNP gives no generic way to tell a payload command from a plain one: many
plain lines end in a number (``NLN ... 268435492``, ``SYN 8 15 1 1``, ``QRY 10``). So
the decision is table-driven, per direction, and only then checked against the line:
a command has a payload when its verb is in the direction's set *and* its last token
is all digits (``ADL 6 OK`` is the payload-less reply to a payload ``ADL``).

Numeric error replies carry a payload only from MSNP13 on (``241 8 120`` + XML); on a
connection whose version is unknown (a switchboard has no VER) a three-token error with
a numeric last token is taken as one, since MSNP2-12 errors are ``NNN trid`` only.

TrIDs: server-originated commands either have none (NLN, RNG, JOI, ...) or a ``0``
placeholder (CHL 0, ADD 0 RL, GCF 0). From MSNP8 on the SYN burst (GTC, BLP, PRP, LSG,
LST, BPR) has none; only LSG's first token there (a group id) looks like one, so LSG is
listed per version. Everything else: a TrID is the first argument when it is all digits.

This module is the only statement of these rules. ``payload_tokens`` and ``has_trid``
state them; ``has_payload`` reads the first. The framer looks them up through
``VerbRules`` (a cache of their answers, per verb); the C accelerators get the verb sets
from ``framer.fast_rules``, and tests/codec/test_rules.py checks their framing against
``has_payload`` and ``has_trid`` for every verb, direction and version.
"""

from __future__ import annotations

from functools import lru_cache

from .command import Direction
from .versions import ERROR_PAYLOADS, TWEENER
from .versions import MAX_VERSION as MAX_VERSION  # (here before versions.py)
from .versions import MIN_VERSION as MIN_VERSION

ERROR_PAYLOAD_SINCE = ERROR_PAYLOADS
"""The old name of ``versions.ERROR_PAYLOADS``."""

# Verbs whose last token, when all digits, is a payload byte count (reference b.4).
PAYLOAD_VERBS: dict[Direction, frozenset[str]] = {
    Direction.C2S: frozenset(
        {
            "MSG",  # SB message
            "QRY",  # challenge response (MSNP6+)
            "PAG",  # pager (MSNP5-8)
            "PGD",  # pager (MSNP9+)
            "UUX",  # personal message (MSNP10/11+)
            "ADL",
            "RML",
            "FQY",  # MSNP13+ contact list XML
            "UUN",  # MSNP13+
            "UUM",  # MSNP14+ Yahoo interop
            "SDG",
            "PUT",
            "DEL",  # MSNP21+
            "SDC",  # papyon lists it (send to contact)
        }
    ),
    Direction.S2C: frozenset(
        {
            "MSG",  # NS profile/mail notices and SB messages
            "NOT",  # MSNP5+ alerts
            "IPG",  # MSNP6+ pager
            "GCF",  # MSNP11+ Shields.xml
            "UBX",
            "UBN",
            "UBM",
            "ADL",
            "RML",
            "FQY",
            "UUX",  # "UUX trid 0" (count 0)
            "NFY",
            "SDG",
            "PUT",
            "DEL",
        }
    ),
}

# Verbs that never carry a TrID, per direction (reference b.2).
NO_TRID_VERBS: dict[Direction, frozenset[str]] = {
    Direction.C2S: frozenset({"PNG", "OUT"}),
    Direction.S2C: frozenset(
        {
            "NLN",
            "FLN",
            "RNG",
            "NOT",
            "IPG",
            "QNG",
            "OUT",
            "MSG",
            "JOI",
            "BYE",
            "BPR",  # MSNP5-7: a list version first; MSNP8: nothing
            "UBX",
            "UBN",
            "UBM",
            "NFY",
        }
    ),
}

# Verbs whose framing changes the dialect or depends on it, per direction: a bulk scanner
# (``framer.BulkScanner``) leaves them to the framer, as it does numeric error replies.
DIALECT_VERBS: dict[Direction, frozenset[str]] = {
    Direction.C2S: frozenset(),
    Direction.S2C: frozenset({"VER", "LSG"}),  # VER sets the version; LSG's TrID depends on it
}

# Verbs whose leading number is not a TrID from the given MSNP version on (S2C only).
NO_TRID_SINCE: dict[str, int] = {"LSG": TWEENER}


def payload_tokens(direction: Direction, verb: str, version: int | None) -> int | None:
    """The fewest tokens after ``verb`` with which its line carries a payload, or None
    when it never does. With that many or more, the last token is the payload's byte
    count when it is all digits (the payload rule, stated here only).

    Args:
        direction: which way the line travels.
        verb: the first token of the line.
        version: the negotiated MSNP version, or None when unknown.
    """
    if verb in PAYLOAD_VERBS[direction]:
        return 1
    numeric = direction is Direction.S2C and len(verb) == 3 and verb.isdigit()
    if numeric and (version is None or version >= ERROR_PAYLOADS):
        return 2
    return None


def has_payload(
    direction: Direction, verb: str, tokens_after_verb: int, version: int | None
) -> bool:
    """Whether ``verb`` may carry a payload in ``direction`` (the last token must be digits).

    Args:
        direction: which way the line travels.
        verb: the first token of the line.
        tokens_after_verb: how many tokens follow the verb.
        version: the negotiated MSNP version, or None when unknown.
    """
    needed = payload_tokens(direction, verb, version)
    return needed is not None and tokens_after_verb >= needed


def has_trid(direction: Direction, verb: str, version: int | None) -> bool:
    """Whether a leading all-digit argument of ``verb`` is a TrID."""
    if verb in NO_TRID_VERBS[direction]:
        return False
    if direction is Direction.S2C:
        since = NO_TRID_SINCE.get(verb)
        if since is not None and version is not None and version >= since:
            return False
    return True


NO_PAYLOAD = 1 << 62
"""``VerbRules.payload_at`` of a verb that never carries a payload."""

MAX_CACHED_VERBS = 512
"""Verbs one ``VerbRules`` remembers before it starts again: real traffic uses about a
hundred; a peer inventing verbs cannot make it grow."""


class VerbRules:
    """The rules above for one direction and version, per verb, as the framer looks them
    up: a cache of the answers of ``payload_tokens`` and ``has_trid``, filled as verbs are
    met (``learn``); get one from ``verb_rules``."""

    __slots__ = ("direction", "payload_at", "trid_verbs", "version")

    def __init__(self, direction: Direction, version: int | None) -> None:
        self.direction = direction
        self.version = version
        self.payload_at: dict[str, int] = {}
        """Verb -> the fewest tokens (the verb included) of a line of it with a payload
        (``NO_PAYLOAD``: never), for every verb learnt."""
        self.trid_verbs: set[str] = set()
        """The verbs learnt whose leading all-digit argument is a TrID."""

    def learn(self, verb: str) -> int:
        """Look ``verb`` up in the rules and remember it; return its ``payload_at``."""
        if len(self.payload_at) >= MAX_CACHED_VERBS:
            self.payload_at.clear()
            self.trid_verbs.clear()
        needed = payload_tokens(self.direction, verb, self.version)
        at = NO_PAYLOAD if needed is None else needed + 1
        self.payload_at[verb] = at
        if has_trid(self.direction, verb, self.version):
            self.trid_verbs.add(verb)
        return at


@lru_cache(maxsize=40)
def verb_rules(direction: Direction, version: int | None) -> VerbRules:
    """The ``VerbRules`` of ``direction`` at ``version``, shared by every framer."""
    return VerbRules(direction, version)


def parse_version(token: str) -> int | None:
    """``"MSNP8"`` -> 8; anything else (``"CVR0"``, ``"0"``) -> None."""
    if token.startswith("MSNP") and token[4:].isdigit():
        return int(token[4:])
    return None
