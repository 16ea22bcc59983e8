"""msproxy/proxy/redact: keep secrets out of capture files (never out of forwarded bytes).

What counts as a secret (client to server unless noted):

* ``USR trid MD5 S <hash>``: the MD5 login hash (the salt the server sends is not secret);
* ``USR trid TWN S <ticket>``: the Passport ticket (``t=...&p=...``);
* ``USR trid SSO S <ticket> <response>``: MSNP15+ single sign-on ticket and its proof
  (MSNP16+ add the client's machine GUID, ``{...}``, after them: not a secret, it is sent
  in clear in UUX and switchboard ``USR``/``ANS``/``IRO``/``JOI`` lines, and kept);
* ``USR trid SHA A <token>``: the MSNP18 circle token;
* server to client, ``MSG Hotmail Hotmail`` profile: the ``MSPAuth:`` (and ``MSPProf:``)
  header values, the Passport cookie that opens the user's mailbox.

Kept on purpose: the profile's ``sid`` (a login-server session number) and ``kv`` (a key
version), which grant nothing alone and help reading a capture; switchboard cookies
(``CKI``), which expire within a minute and are what ties redirects together.

A secret becomes ``<redacted:XXXXXXXXXXXX>``: the first 12 hex digits of
HMAC-SHA256(key, secret) with a random key per capture, so the same secret reads the same
throughout one capture and cannot be tested against guesses from another.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from msmgr.codec import Command, Direction
from msmgr.codec.redirect import replace_token

_LOGIN_METHODS = {"MD5": ("S", 1), "TWN": ("S", 1), "SSO": ("S", 2), "SHA": ("A", 1)}
"""Per login method of ``USR``: the step that carries secrets, and how many arguments
after it are secrets."""

SECRET_PREFIXES: dict[Direction, tuple[str, ...]] = {
    Direction.C2S: ("USR",),
    Direction.S2C: ("MSG Hotmail",),
}
"""The line prefixes (verb, first argument) of the only commands ``Redactor.redact``
may change, per direction: callers skip it for every other command."""
SECRET_VERBS = frozenset(p.split(" ")[0] for ps in SECRET_PREFIXES.values() for p in ps)
"""The verbs of ``SECRET_PREFIXES``, either direction."""
_PROFILE_SECRET = re.compile(rb"^(MSPAuth|MSPProf):[ \t]*([^\r\n]*)", re.MULTILINE)


class Redactor:
    """Replaces the secrets of a command by keyed placeholders, for capture records."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else os.urandom(32)

    def placeholder(self, secret: bytes) -> bytes:
        """The placeholder ``secret`` reads as in this capture."""
        digest = hmac.new(self._key, secret, hashlib.sha256).hexdigest()[:12]
        return f"<redacted:{digest}>".encode("ascii")

    def redact(self, direction: Direction, command: Command) -> Command | None:
        """A copy of ``command`` with its secrets replaced, or None when it holds none.

        The copy is consistent: its ``raw`` line carries the placeholders and, when the
        payload changed, the new byte count.
        """
        verb = command.verb
        if verb == "USR" and direction is Direction.C2S:
            return self._redact_login(command)
        if (
            verb == "MSG"
            and direction is Direction.S2C
            and command.payload is not None
            and command.args[:2] == ("Hotmail", "Hotmail")
        ):
            return self._redact_profile(command)
        return None

    def _redact_login(self, command: Command) -> Command | None:
        args = command.args
        if len(args) < 3 or args[0] not in _LOGIN_METHODS:
            return None
        step, secrets = _LOGIN_METHODS[args[0]]
        if args[1] != step:
            return None
        first = 1 + (command.trid is not None)  # token index of args[0]
        raw = command.raw
        new_args = list(args)
        for index in range(2, min(len(args), 2 + secrets)):
            if not args[index]:
                continue
            secret = args[index].encode("utf-8", "surrogateescape")
            mark = self.placeholder(secret)
            new_args[index] = mark.decode("ascii")
            if raw is not None:
                raw = replace_token(raw, first + index, mark)
        return Command(command.verb, command.trid, tuple(new_args), None, raw)

    def _redact_profile(self, command: Command) -> Command | None:
        payload = command.payload
        assert payload is not None
        if _PROFILE_SECRET.search(payload) is None:
            return None

        def mark(match: re.Match[bytes]) -> bytes:
            return match.group(1) + b": " + self.placeholder(match.group(2))

        new_payload = _PROFILE_SECRET.sub(mark, payload)
        raw = command.raw
        if raw is not None:
            line = raw[: len(raw) - len(payload)]
            body = line.rstrip(b"\r\n")
            last = len(body.split(b" ")) - 1
            raw = replace_token(line, last, str(len(new_payload)).encode("ascii")) + new_payload
        return Command(command.verb, command.trid, command.args, new_payload, raw)
