"""The sans-IO TrID bookkeeping: allocation, reply matching, errors as replies, renumbering."""

from __future__ import annotations

import pytest

from msmgr.codec import Command
from msmgr.codec.transactions import Transactions, TridCounter, TridMap


def test_expect_allocates_trids_from_a_shared_counter() -> None:
    counter = TridCounter()
    ns, sb = Transactions(counter), Transactions(counter)
    first = ns.expect(Command("CHG", None, ("NLN",)))
    second = sb.expect(Command("CAL", None, ("bob@x.com",)))
    assert (first.trid, second.trid) == (1, 2)
    assert first.request.trid == 1  # the request itself carries it now
    assert ns.next_trid() == 3
    assert counter.last == 3
    kept = ns.expect(Command("SYN", 40, ("0",)))  # a TrID given is kept
    assert kept.trid == 40
    assert 40 in ns
    assert len(ns) == 2


def test_reply_matches_by_trid_and_verb() -> None:
    transactions = Transactions()
    pending = transactions.expect(Command("ANS", None, ("alice@x.com", "ck", "1")))
    assert transactions.reply(Command("IRO", pending.trid, ("1", "1", "bob@x.com", "Bob"))) is None
    assert transactions.reply(Command("ANS", pending.trid + 1, ("OK",))) is None
    assert transactions.reply(Command("JOI", None, ("bob@x.com", "Bob"))) is None
    assert [pending.done, pending.reply] == [False, None]
    reply = Command("ANS", pending.trid, ("OK",))
    assert transactions.reply(reply) is pending
    assert pending.done
    assert pending.reply is reply
    assert not pending.failed
    assert transactions.reply(reply) is None  # answered once; forgotten after
    assert len(transactions) == 0


def test_accept_adds_verbs_and_a_numeric_error_always_answers() -> None:
    transactions = Transactions()
    message = transactions.expect(Command("MSG", None, ("A",), b"hi"), accept=("ACK", "NAK"))
    call = transactions.expect(Command("CAL", None, ("nobody@x.com",)))
    assert transactions.reply(Command("NAK", message.trid)) is message
    assert message.reply is not None
    assert message.reply.verb == "NAK"
    assert not message.failed
    assert transactions.reply(Command("217", call.trid)) is call
    assert call.failed


def test_forget_and_abandon() -> None:
    transactions = Transactions()
    one = transactions.expect(Command("CHG", None, ("NLN",)))
    two = transactions.expect(Command("SYN", None, ("0",)))
    transactions.forget(one)
    assert transactions.reply(Command("CHG", one.trid, ("NLN",))) is None
    assert list(transactions) == [two]
    assert transactions.abandon() == [two]
    assert len(transactions) == 0
    assert not two.done


def test_a_trid_awaited_twice_is_refused() -> None:
    transactions = Transactions()
    transactions.expect(Command("CHG", 5, ("NLN",)))
    with pytest.raises(ValueError, match="TrID 5"):
        transactions.expect(Command("CHG", 5, ("BSY",)))


def test_trid_map_learns_assigns_and_remaps() -> None:
    trids = TridMap()
    trids.assign(17)
    trids.assign(17)  # once only
    trids.assign(30)
    trids.assign(None)
    assert (trids.get(17), trids.get(30)) == (1, 2)
    trids.learn(40, 90)
    trids.learn(41, None)  # a command without TrID teaches nothing
    assert trids.get(40) == 90
    assert trids.get(41) is None
    recorded = Command("CAL", 40, ("bob@x.com",), raw=b"CAL 40 bob@x.com\r\n")
    assert trids.remap(recorded).to_bytes() == b"CAL 90 bob@x.com\r\n"
    unknown = Command("CAL", 99, ("bob@x.com",), raw=b"CAL 99 bob@x.com\r\n")
    assert trids.remap(unknown) is unknown  # raw bytes kept
    same = TridMap()
    same.learn(3, 3)
    command = Command("USR", 3, ("OK",), raw=b"USR 3 OK\r\n")
    assert same.remap(command) is command
