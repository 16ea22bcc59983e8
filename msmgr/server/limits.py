"""msmgr/server/limits: what keeps one abusive client from costing the server or others.

Three IO-free pieces, each told the time by its caller (``now``, in seconds of a
monotonic clock), so tests drive them without sleeping:

* ``Vouchers``: single-use secrets issued to an account (Passport tickets, ``XFR SB``
  cookies). Each expires after its lifetime, each account holds at most a few at once
  (the oldest goes first), and ``sweep`` forgets the expired ones: memory stays bounded
  however many logins or ``XFR SB`` come.
* ``LoginThrottle``: failed logins, counted per key (an account, a client address). After
  ``free`` failures every further attempt under that key waits, the wait doubling with
  each failure up to ``cap`` seconds; attempts that arrive together queue one behind the
  other. A success clears the account's count (not the address's); counts are forgotten
  after ``forget`` seconds without a failure. A correct password is never refused.
* ``TokenBucket``: at most ``burst`` actions at once, refilled at ``rate`` per second
  (``CAL`` per switchboard connection).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TICKET_LIFETIME = 300.0
"""Seconds a Passport ticket stays valid for its one ``USR TWN S``."""

TICKETS_PER_ACCOUNT = 8
"""Unused Passport tickets kept per account; a newer one pushes out the oldest."""

SB_COOKIES_PER_ACCOUNT = 32
"""Unused ``XFR SB`` cookies kept per account; a newer one pushes out the oldest."""

SWEEP_INTERVAL = 30.0
"""Seconds between two sweeps of expired tickets, cookies, invitations and login counts."""

FREE_LOGIN_FAILURES = 5
"""Failed logins of one account or from one address before attempts are slowed down."""

LOGIN_DELAY = 0.5
"""Seconds the first slowed-down attempt waits; each further failure doubles it."""

MAX_LOGIN_DELAY = 30.0
"""The longest wait of one login attempt."""

FORGET_FAILURES = 900.0
"""Seconds without a failure after which a key's failed logins are forgotten."""

MAX_THROTTLED_KEYS = 100_000
"""Keys the login throttle tracks at most; beyond, the least recently failed goes."""

FAILURES_PER_CONNECTION = 3
"""``911`` replies after which the server closes an NS connection."""

CAL_BURST = 10
"""``CAL`` commands one switchboard connection may send at once."""

CAL_RATE = 2.0
"""``CAL`` commands per second a switchboard connection is refilled with."""

CAL_REFUSALS = 20
"""``CAL``s refused in a row (713) after which the switchboard connection is closed."""


def account_key(email: str) -> str:
    """The login throttle's key of an account."""
    return f"account:{email}"


def login_keys(email: str, address: str) -> tuple[str, str]:
    """The keys a login attempt counts under: the handle and the client's address.

    Handles that are not accounts count too (``max_keys`` bounds them), so that the
    delays never tell whether an account exists.
    """
    return (account_key(email), f"address:{address}")


class Vouchers:
    """Single-use, expiring secrets, a bounded number per account."""

    def __init__(self, lifetime: float, per_owner: int) -> None:
        self.lifetime = lifetime
        self.per_owner = per_owner
        self._by_owner: dict[str, dict[str, float]] = {}

    def __len__(self) -> int:
        return sum(len(mine) for mine in self._by_owner.values())

    def issue(self, owner: str, secret: str, now: float) -> None:
        """Record ``secret`` as issued to ``owner`` at ``now``."""
        mine = self._by_owner.setdefault(owner, {})
        mine[secret] = now
        while len(mine) > self.per_owner:
            del mine[next(iter(mine))]

    def holds(self, owner: str, secret: str) -> bool:
        """Whether ``secret`` was issued to ``owner`` and not used or pushed out yet."""
        return secret in self._by_owner.get(owner, {})

    def take(self, owner: str, secret: str, now: float) -> bool:
        """Use ``secret`` up; True if it was issued to ``owner`` and has not expired."""
        mine = self._by_owner.get(owner)
        if mine is None:
            return False
        issued = mine.pop(secret, None)
        if not mine:
            del self._by_owner[owner]
        return issued is not None and now - issued < self.lifetime

    def sweep(self, now: float) -> int:
        """Forget every expired secret; return how many."""
        removed = 0
        for owner in list(self._by_owner):
            mine = self._by_owner[owner]
            expired = [s for s, issued in mine.items() if now - issued >= self.lifetime]
            for secret in expired:
                del mine[secret]
            removed += len(expired)
            if not mine:
                del self._by_owner[owner]
        return removed


@dataclass
class _Failures:
    count: int
    last: float
    next_slot: float


class LoginThrottle:
    """Failed logins per key, and how long the next attempt under those keys waits."""

    def __init__(
        self,
        *,
        free: int = FREE_LOGIN_FAILURES,
        delay: float = LOGIN_DELAY,
        cap: float = MAX_LOGIN_DELAY,
        forget: float = FORGET_FAILURES,
        max_keys: int = MAX_THROTTLED_KEYS,
    ) -> None:
        self.free = free
        self.delay = delay
        self.cap = cap
        self.forget = forget
        self.max_keys = max_keys
        self._failures: dict[str, _Failures] = {}

    def __len__(self) -> int:
        return len(self._failures)

    def failures(self, key: str) -> int:
        """Failed logins counted for ``key``."""
        entry = self._failures.get(key)
        return 0 if entry is None else entry.count

    def _step(self, count: int) -> float:
        excess = count - self.free
        if excess < 0:
            return 0.0
        return min(self.cap, self.delay * float(2 ** min(excess, 32)))

    def wait(self, keys: Iterable[str], now: float) -> float:
        """Seconds an attempt under ``keys`` waits from ``now``; reserves its turn."""
        wait = 0.0
        for key in keys:
            entry = self._failures.get(key)
            if entry is None or entry.count < self.free:
                continue
            slot = max(now, entry.next_slot)
            entry.next_slot = slot + self._step(entry.count)
            wait = max(wait, slot - now)
        return wait

    def failed(self, keys: Iterable[str], now: float) -> None:
        """Count a failed login under each of ``keys``."""
        for key in keys:
            entry = self._failures.pop(key, None) or _Failures(0, now, now)
            entry.count += 1
            entry.last = now
            entry.next_slot = max(entry.next_slot, now + self._step(entry.count))
            self._failures[key] = entry  # re-inserted: the dict stays in order of failure
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures (the account's, after a correct password)."""
        self._failures.pop(key, None)

    def sweep(self, now: float) -> int:
        """Forget keys without a failure for ``forget`` seconds; return how many."""
        stale = [k for k, e in self._failures.items() if now - e.last >= self.forget]
        for key in stale:
            del self._failures[key]
        return len(stale)


class TokenBucket:
    """Up to ``burst`` actions at once, refilled at ``rate`` per second."""

    def __init__(self, burst: int, rate: float, now: float) -> None:
        self.burst = burst
        self.rate = rate
        self._tokens = float(burst)
        self._at = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one; True if the action may go ahead."""
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
