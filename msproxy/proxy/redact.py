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

However the line is spaced: the login method and its step match in any case (``md5 s``),
and runs of spaces (empty tokens, which the codec keeps) are skipped when looking for the
method, the step and the secrets; the profile headers match in any case, with blanks
around the colon. The capture's fast path leaves every client ``USR`` line, and every
server ``MSG`` line starting ``MSG Hotmail`` or ``MSG`` and two spaces, to ``redact``
(``SECRET_PREFIXES``).

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
    Direction.S2C: ("MSG Hotmail", "MSG "),
}
"""The line prefixes (verb, first argument) of the only commands ``Redactor.redact``
may change, per direction: callers skip it for every other command. ``"MSG "`` is
``MSG`` with an empty first argument: a line spaced ``MSG  Hotmail ...``."""
SECRET_VERBS = frozenset(p.split(" ")[0] for ps in SECRET_PREFIXES.values() for p in ps)
"""The verbs of ``SECRET_PREFIXES``, either direction."""
_PROFILE_SECRET = re.compile(
    rb"^([ \t]*)(MSPAuth|MSPProf)[ \t]*:[ \t]*([^\r\n]*)", re.MULTILINE | re.IGNORECASE
)


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
            and [arg for arg in command.args if arg][:2] == ["Hotmail", "Hotmail"]
        ):
            return self._redact_profile(command)
        return None

    def _redact_login(self, command: Command) -> Command | None:
        args = command.args
        tokens = [index for index, arg in enumerate(args) if arg]  # spacing skipped
        # the method is the first token, or the second when the TrID is not where the
        # codec looks for it (``USR  7 MD5 ...``: two spaces, an empty token first)
        found = [n for n, index in enumerate(tokens[:2]) if args[index].upper() in _LOGIN_METHODS]
        if not found:
            return None
        method = found[0]
        step, secrets = _LOGIN_METHODS[args[tokens[method]].upper()]
        rest = tokens[method + 1 :]
        if not rest or args[rest[0]].upper() != step:
            return None
        first = 1 + (command.trid is not None)  # the token index of args[0] in the line
        raw = command.raw
        new_args = list(args)
        for index in rest[1 : 1 + secrets]:
            mark = self.placeholder(args[index].encode("utf-8", "surrogateescape"))
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
            return match.group(1) + match.group(2) + b": " + self.placeholder(match.group(3))

        new_payload = _PROFILE_SECRET.sub(mark, payload)
        raw = command.raw
        if raw is not None:
            line = raw[: len(raw) - len(payload)]
            body = line.rstrip(b"\r\n")
            last = len(body.split(b" ")) - 1
            raw = replace_token(line, last, str(len(new_payload)).encode("ascii")) + new_payload
        return Command(command.verb, command.trid, command.args, new_payload, raw)
