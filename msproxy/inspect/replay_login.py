"""msproxy/inspect/replay_login: log in live when re-driving a server from a capture.

A capture keeps the client's login secret as a ``<redacted:...>`` placeholder (and even
an unredacted one is of no use: the live server sends another salt or challenge). With
the account's password, ``LiveLogin`` answers the live server's challenge the way the
client did:

- ``USR t MD5 S <hash>`` (MSNP2-7): ``md5(salt + password)`` for the salt of the live
  ``USR t MD5 S <salt>``;
- ``USR t TWN S <ticket>`` (MSNP8-14): a Passport 1.4 ticket fetched live from the nexus
  for the live ``USR t TWN S <challenge>``.

``answer_challenge`` does the same, password or not, for the ``QRY`` that answers a
``CHL`` (MSNP6+): the recorded answer was for the recorded challenge, so it is computed
again for the live one, with the client key the recorded ``QRY`` names.

Any other recorded command is sent as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from msmgr.client.passport import DEFAULT_NEXUS, PassportClient
from msmgr.codec import Command
from msmgr.codec.challenge import (
    MSNP6_KEY,
    MSNP11_KEY,
    MSNP15_KEY,
    MSNP18_KEY,
    challenge_md5,
    challenge_msnp11,
    login_hash,
)

_MSNP11_KEYS = {key.product_id: key for key in (MSNP11_KEY, MSNP15_KEY, MSNP18_KEY)}


class LoginError(Exception):
    """Raised when the recorded login step cannot be answered live (no challenge from
    the server yet, or a login method this replay cannot compute)."""


@dataclass(slots=True)
class LiveLogin:
    """The password of the replayed account and what the live server challenged."""

    password: str
    nexus_url: str = DEFAULT_NEXUS
    handle: str | None = None  # from the recorded ``USR t <method> I <handle>``
    challenges: dict[str, str] = field(default_factory=dict)  # method -> live challenge

    def saw_sent(self, command: Command) -> None:
        """Note a recorded client command as it is sent (the handle of ``USR ... I``)."""
        args = command.args
        if command.verb == "USR" and len(args) >= 3 and args[1].upper() == "I":
            self.handle = args[2]

    def saw_received(self, command: Command) -> None:
        """Note a command from the live server (its ``USR ... S <challenge>``)."""
        args = command.args
        if command.verb == "USR" and len(args) >= 3 and args[1].upper() == "S":
            self.challenges[args[0].upper()] = args[2]

    @staticmethod
    def answers(command: Command) -> bool:
        """Whether ``command`` is a login answer this class recomputes."""
        args = command.args
        return (
            command.verb == "USR"
            and len(args) >= 3
            and args[1].upper() == "S"
            and args[0].upper() in ("MD5", "TWN", "SSO")
        )

    async def answer(self, command: Command) -> Command:
        """``command`` (a recorded ``USR t MD5|TWN S ...``) with the secret computed live.

        Raises:
            LoginError: no live challenge to answer, or an unsupported method (SSO).
            msmgr.client.ClientError: Passport refused or could not be reached.
        """
        method = command.args[0].upper()
        challenge = self.challenges.get(method)
        if challenge is None:
            raise LoginError(f"the server sent no USR {method} S challenge to answer")
        if method == "MD5":
            secret = login_hash(challenge, self.password)
        elif method == "TWN":
            if self.handle is None:
                raise LoginError("no recorded USR TWN I <handle> before the ticket")
            passport = PassportClient(self.nexus_url)
            secret = await passport.get_ticket(self.handle, self.password, challenge)
        else:
            raise LoginError(f"USR {method} login cannot be computed by a replay")
        return Command(command.verb, command.trid, (*command.args[:2], secret))


@dataclass(slots=True)
class LiveChallenge:
    """The live server's last ``CHL`` challenge, to answer the recorded ``QRY`` with."""

    challenge: str | None = None

    def saw_received(self, command: Command) -> None:
        """Note a command from the live server (its ``CHL 0 <challenge>``)."""
        if command.verb == "CHL" and command.args:
            self.challenge = command.args[0]

    def answer(self, command: Command) -> Command:
        """``command`` (a recorded client command) with a ``QRY`` payload computed for the
        live challenge when it is a ``QRY`` of a known client key; else as it is."""
        if command.verb != "QRY" or not command.args or self.challenge is None:
            return command
        product = command.args[0]
        if product == MSNP6_KEY.product_id:
            payload = challenge_md5(self.challenge)
        elif product in _MSNP11_KEYS:
            payload = challenge_msnp11(self.challenge, _MSNP11_KEYS[product])
        else:
            return command
        self.challenge = None
        data = payload.encode("ascii")
        return Command(command.verb, command.trid, (product,), data)
