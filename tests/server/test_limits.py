"""The server's limits without a server: vouchers, the login throttle, the CAL bucket."""

from __future__ import annotations

import pytest

from msmgr.server.limits import LoginThrottle, TokenBucket, Vouchers, login_keys


def test_a_voucher_is_single_use_and_for_its_owner_only() -> None:
    vouchers = Vouchers(lifetime=10.0, per_owner=4)
    vouchers.issue("alice", "s1", now=0.0)
    assert not vouchers.take("bob", "s1", now=1.0)
    assert vouchers.take("alice", "s1", now=1.0)
    assert not vouchers.take("alice", "s1", now=1.0)
    assert len(vouchers) == 0


def test_a_voucher_expires() -> None:
    vouchers = Vouchers(lifetime=10.0, per_owner=4)
    vouchers.issue("alice", "s1", now=0.0)
    assert not vouchers.take("alice", "s1", now=10.0)


def test_an_owner_keeps_only_the_newest_vouchers() -> None:
    vouchers = Vouchers(lifetime=10.0, per_owner=3)
    for n in range(10):
        vouchers.issue("alice", f"s{n}", now=float(n) / 10)
    vouchers.issue("bob", "b", now=0.0)
    assert len(vouchers) == 4
    assert [vouchers.holds("alice", f"s{n}") for n in range(10)] == [False] * 7 + [True] * 3
    assert vouchers.holds("bob", "b")


def test_sweep_forgets_only_expired_vouchers() -> None:
    vouchers = Vouchers(lifetime=10.0, per_owner=8)
    vouchers.issue("alice", "old", now=0.0)
    vouchers.issue("alice", "new", now=5.0)
    vouchers.issue("bob", "old", now=1.0)
    assert vouchers.sweep(now=12.0) == 2
    assert len(vouchers) == 1
    assert vouchers.take("alice", "new", now=12.0)


def test_logins_are_free_until_the_fifth_failure_then_the_wait_doubles() -> None:
    throttle = LoginThrottle(free=5, delay=1.0, cap=100.0)
    keys = login_keys("alice@example.com", "10.0.0.1")
    now = 0.0
    for _ in range(4):
        assert throttle.wait(keys, now) == 0.0
        throttle.failed(keys, now)
    assert throttle.wait(keys, now) == 0.0
    throttle.failed(keys, now)  # the fifth failure: from now on attempts wait
    waits = []
    for _ in range(4):
        wait = throttle.wait(keys, now)
        waits.append(wait)
        now += wait
        throttle.failed(keys, now)
    assert waits == [1.0, 2.0, 4.0, 8.0]


def test_attempts_arriving_together_queue_behind_each_other() -> None:
    throttle = LoginThrottle(free=1, delay=1.0, cap=100.0)
    keys = login_keys("alice@example.com", "10.0.0.1")
    throttle.failed(keys, 0.0)
    assert [throttle.wait(keys, 0.0) for _ in range(3)] == [1.0, 2.0, 3.0]


def test_the_wait_is_capped() -> None:
    throttle = LoginThrottle(free=0, delay=1.0, cap=5.0)
    keys = ("k",)
    for _ in range(100):
        throttle.failed(keys, 0.0)
    assert throttle.wait(keys, 1000.0) == 0.0
    assert throttle.wait(keys, 1000.0) == 5.0


def test_a_success_clears_the_account_but_not_the_address() -> None:
    throttle = LoginThrottle(free=1, delay=1.0)
    alice = login_keys("alice@example.com", "10.0.0.1")
    throttle.failed(alice, 0.0)
    throttle.succeeded(alice[0])
    assert throttle.failures(alice[0]) == 0
    assert throttle.failures(alice[1]) == 1
    # another account from the same address still waits: the address is throttled
    carol = login_keys("carol@example.com", "10.0.0.1")
    assert throttle.wait(carol, 0.0) == 1.0
    # the same account from elsewhere does not
    assert throttle.wait(login_keys("alice@example.com", "10.0.0.2"), 0.0) == 0.0


def test_failures_are_forgotten_and_bounded() -> None:
    throttle = LoginThrottle(forget=60.0, max_keys=10)
    for n in range(50):
        throttle.failed(login_keys(f"u{n}@example.com", "10.0.0.1"), float(n))
    assert len(throttle) == 10
    assert throttle.failures("address:10.0.0.1") == 50
    assert throttle.sweep(now=200.0) == 10
    assert len(throttle) == 0


@pytest.mark.parametrize(("gap", "allowed"), [(0.0, 3), (0.5, 4), (10.0, 6)])
def test_the_bucket_allows_a_burst_then_its_rate(gap: float, allowed: int) -> None:
    bucket = TokenBucket(burst=3, rate=2.0, now=0.0)
    taken = [bucket.take(0.0) for _ in range(3)]
    taken += [bucket.take(gap) for _ in range(3)]
    assert sum(taken) == allowed
    assert taken[:3] == [True, True, True]
