"""msproxy/inspect/normalize: forget what legitimately differs between two sessions.

Two runs of the same session never have the same TrIDs, switchboard cookies, salts,
tickets, ports or login times. ``normalize`` turns a command into a ``Normalized`` form
where each such value is replaced by a named placeholder, according to ignore rules:

=============  ==============================================================================
rule           replaces
=============  ==============================================================================
``trid``       the TrID (``<trid>``)
``cookie``     SB cookies and session ids: the token after ``CKI``, ``RNG``'s session id,
               the cookie (and session id) of SB ``USR``/``ANS``, ``CAL ... RINGING <id>``,
               payload ``Invitation-Cookie``/``Session-ID``/``Message-ID``
``challenge``  salts and challenges: ``USR ... MD5 S <salt>`` and ``USR ... TWN|SSO S ...``
               from the server, ``CHL`` challenges, and the ``QRY`` answer (it follows the
               challenge)
``ticket``     secrets: ``USR ... MD5|TWN|SSO S ...``/``SHA A`` from the client, payload
               ``MSPAuth``/``MSPProf``, and every ``<redacted:...>`` placeholder
``addr``       ``host:port`` tokens, payload ``ClientIP``/``ClientPort``/``IP-Address*``/
               ``Port*``
``time``       ISO timestamps in arguments, payload ``LoginTime``/``sid``/``kv``/``ClientPort``
=============  ==============================================================================

The payload is compared through a digest of its normalised bytes, so a profile that
differs only in ``LoginTime`` compares equal under ``time``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from msmgr.codec import Command
from msproxy.capture import Record, record_command
from msproxy.view.payload import content_type, is_text

IGNORE_RULES = ("trid", "cookie", "challenge", "ticket", "addr", "time")
DEFAULT_IGNORE = frozenset(IGNORE_RULES)

_REDACTED = re.compile(r"<redacted(?::[^>\s]*)?>")
_ADDRESS = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):\d{1,5}")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
_HEADER = re.compile(rb"^([A-Za-z][A-Za-z0-9_-]*):[ \t]*([^\r\n]*)", re.MULTILINE)
_PAYLOAD_HEADERS: dict[bytes, frozenset[str]] = {
    b"logintime": frozenset({"time"}),
    b"sid": frozenset({"time"}),
    b"kv": frozenset({"time"}),
    b"clientport": frozenset({"addr", "time"}),
    b"clientip": frozenset({"addr"}),
    b"ip-address": frozenset({"addr"}),
    b"ip-address-internal": frozenset({"addr"}),
    b"port": frozenset({"addr"}),
    b"portx": frozenset({"addr"}),
    b"port-x": frozenset({"addr"}),
    b"mspauth": frozenset({"ticket"}),
    b"mspprof": frozenset({"ticket"}),
    b"invitation-cookie": frozenset({"cookie"}),
    b"session-id": frozenset({"cookie"}),
    b"message-id": frozenset({"cookie"}),
}
_LOGIN_METHODS = {"MD5": "S", "TWN": "S", "SSO": "S", "SHA": "A"}


def parse_ignore(text: str) -> frozenset[str]:
    """Ignore rules from ``"trid,cookie"``, ``"all"`` or ``"none"``.

    Raises:
        ValueError: an unknown rule name.
    """
    names = {name.strip().lower() for name in text.split(",") if name.strip()}
    if names <= {"none"}:
        return frozenset()
    if "all" in names:
        names = (names - {"all"}) | DEFAULT_IGNORE
    unknown = names - DEFAULT_IGNORE
    if unknown:
        raise ValueError(
            f"unknown ignore rule(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(IGNORE_RULES)}, all, none"
        )
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A command with its volatile parts replaced by placeholders; compares by value."""

    direction: str
    verb: str
    trid: str | None
    args: tuple[str, ...]
    payload: str | None  # "<type> <size>B <digest>" of the normalised payload

    @property
    def line(self) -> str:
        """The normalised command line, without its payload."""
        if self.trid is None:
            return " ".join((self.verb, *self.args))
        return " ".join((self.verb, self.trid, *self.args))

    @property
    def text(self) -> str:
        """The normalised command as one line (payload as a digest in brackets)."""
        if self.payload is not None:
            return f"{self.line}  [{self.payload}]"
        return self.line


def normalize_record(record: Record, ignore: Iterable[str] = DEFAULT_IGNORE) -> Normalized:
    """``normalize`` of a ``cmd`` record."""
    return normalize(record_command(record), str(record.get("dir")), ignore)


def normalize(
    command: Command, direction: str, ignore: Iterable[str] = DEFAULT_IGNORE
) -> Normalized:
    """The normalised form of ``command`` travelling in ``direction`` under ``ignore``."""
    rules = frozenset(ignore)
    verb = command.verb
    args = list(command.args)
    trid: str | None = None if command.trid is None else str(command.trid)
    if trid is not None and "trid" in rules:
        trid = "<trid>"
    c2s = direction == "c2s"

    def mark(index: int, rule: str, name: str | None = None) -> None:
        if rule in rules and index < len(args):
            args[index] = f"<{name or rule}>"

    if "cookie" in rules:
        for index in range(len(args) - 1):
            if args[index] == "CKI":
                mark(index + 1, "cookie")
        if verb == "RNG" and not c2s:
            mark(0, "cookie", "sessid")
        elif verb == "CAL" and not c2s and args[:1] == ["RINGING"]:
            mark(1, "cookie", "sessid")
        elif verb == "ANS" and c2s:
            mark(1, "cookie")
            mark(2, "cookie", "sessid")
        elif verb == "USR" and c2s and len(args) >= 2 and args[0] not in _LOGIN_METHODS:
            mark(1, "cookie")  # SB login: USR trid handle cookie
    if verb == "USR" and len(args) >= 3 and _LOGIN_METHODS.get(args[0]) == args[1]:
        for index in range(2, len(args)):
            mark(index, "ticket" if c2s else "challenge")
    if verb == "CHL" and not c2s:
        for index in range(len(args)):
            mark(index, "challenge")
    for index, token in enumerate(args):
        if "ticket" in rules and _REDACTED.search(token):
            args[index] = _REDACTED.sub("<redacted>", token)
        elif "addr" in rules and _ADDRESS.fullmatch(token) and not token.startswith("<"):
            args[index] = "<addr>"
        elif "time" in rules and _ISO_TIME.fullmatch(token):
            args[index] = "<time>"
    payload = None
    if command.payload is not None:
        data = command.payload
        if verb == "QRY" and c2s and "challenge" in rules:
            data = b"<challenge>"
        else:
            data = normalize_payload(data, rules)
        payload = _digest(command.payload, data)
    return Normalized(direction, verb, trid, tuple(args), payload)


def normalize_payload(data: bytes, ignore: Iterable[str] = DEFAULT_IGNORE) -> bytes:
    """``data`` with the values of volatile MIME headers replaced by ``<rule>`` placeholders.

    Binary payloads are returned as they are. Only header values change, never line
    breaks, so the result has the same lines as ``data``.
    """
    rules = frozenset(ignore)
    if not rules or not is_text(data):
        return data

    def header(match: re.Match[bytes]) -> bytes:
        owners = _PAYLOAD_HEADERS.get(match.group(1).lower())
        if owners is not None and owners & rules:
            rule = sorted(owners & rules)[0]
            return match.group(1) + b": <" + rule.encode("ascii") + b">"
        return match.group(0)

    data = _HEADER.sub(header, data)
    if "ticket" in rules:
        data = _REDACTED.sub("<redacted>", data.decode("utf-8")).encode("utf-8")
    return data


def _digest(original: bytes, normalized: bytes) -> str:
    media = content_type(original) or ("text" if is_text(original) else "binary")
    digest = hashlib.sha256(normalized).hexdigest()[:12]
    size = f"{len(original)}B" if normalized == original else "~"
    return f"{media} {size} {digest}"
