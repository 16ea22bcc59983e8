"""msmgr/client/user: the account a session logs in with (Net::Msmgr::User)."""

from __future__ import annotations

from dataclasses import dataclass, field

from msmgr.codec import login_hash


@dataclass(slots=True)
class User:
    """An MSN account: its handle (passport e-mail address) and password.

    Attributes:
        user: the handle, e.g. ``alice@example.com`` (Net::Msmgr's field name).
        password: the password, sent only as an MD5 hash (MSNP2-7) or to Passport (MSNP8+).
        salt: the last MD5 salt the server sent (``USR MD5 S <salt>``).
    """

    user: str
    password: str = field(repr=False)
    salt: str | None = None

    @property
    def handle(self) -> str:
        """The handle (same as ``user``)."""
        return self.user

    def crypto_passwd(self, salt: str | None = None) -> str:
        """Lowercase hex ``md5(salt + password)``, the MSNP2-7 ``USR MD5 S`` answer.

        Args:
            salt: the server's salt; when given it is remembered in ``self.salt``.

        Raises:
            ValueError: no salt given and none remembered.
        """
        if salt is not None:
            self.salt = salt
        if self.salt is None:
            raise ValueError("no salt: the server has not sent USR MD5 S yet")
        return login_hash(self.salt, self.password)
