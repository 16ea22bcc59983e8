"""The list version (MSNP2-9) / timestamps (MSNP10-12) cache against the reference server:
a second sync, on the same session or a new one given the same ContactLists, sends what
it holds and keeps the lists on the short "up to date" answer; a changed list comes whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from msmgr.client import ContactLists, Session, make, open_session
from msmgr.codec import Command
from msmgr.server import ServerAddresses

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


class Seen:
    """The SYN replies and the number of LST lines one session received."""

    def __init__(self) -> None:
        self.syn: list[Command] = []
        self.lst = 0

    def attach(self, session: Session) -> None:
        session.add_handler(self.syn.append, "SYN")
        session.add_handler(self.count, "LST")

    def count(self, command: Command) -> None:
        self.lst += 1


@asynccontextmanager
async def alice(
    addrs: ServerAddresses, protocol: int, lists: ContactLists, seen: Seen
) -> AsyncIterator[Session]:
    async with open_session(
        ALICE,
        "alice-password",
        login=False,
        server=addrs.ds,
        protocol=protocol,
        nexus_url=addrs.nexus_url,
        request_timeout=5,
        contact_lists=lists,
    ) as session:
        seen.attach(session)
        await session.login()
        yield session


@pytest.mark.parametrize("protocol", [7, 10])
async def test_second_sync_uses_the_cache(reference_server: ServerAddresses, protocol: int) -> None:
    stamped = protocol >= 10
    lists = ContactLists()
    first, second, third = Seen(), Seen(), Seen()
    with trio.fail_after(10):
        async with alice(reference_server, protocol, lists, first) as session:
            await session.sync()
            full = first.lst
            assert full >= 2
            if stamped:
                assert len(session.list_stamps) == 2
                assert session.list_stamps != ("0", "0")
            else:
                assert session.list_version >= 1
            cached = (session.list_version, session.list_stamps)
            await session.sync()  # same session: the short answer, nothing more
            assert first.lst == full
            assert len(first.syn[-1].args) == (2 if stamped else 1)
            assert (session.list_version, session.list_stamps) == cached
            assert session.lists["FL"] == [BOB, CAROL]

        async with alice(reference_server, protocol, lists, second) as session:
            await session.sync()  # a new session with the same lists: still current
            assert second.lst == 0
            assert len(second.syn[-1].args) == (2 if stamped else 1)
            assert session.lists["FL"] == [BOB, CAROL]
            assert session.contacts[BOB].lists >= {"FL", "AL", "RL"}
            assert CAROL in session.lists["AL"]
            await session.request(make("REM", "AL", CAROL))  # change the lists

        async with alice(reference_server, protocol, lists, third) as session:
            await session.sync()  # the cache is out of date: the whole lists come
            # MSNP7: one LST line per list entry (carol's AL one is gone); MSNP10: per contact
            assert third.lst == (full if stamped else full - 1)
            if stamped:  # SYN trid ts ts ncontacts ngroups
                assert len(third.syn[-1].args) == 4
            else:  # SYN trid newver, then the LSTs
                assert int(third.syn[-1].args[0]) > cached[0]
            assert CAROL not in session.lists["AL"]
            assert session.lists["FL"] == [BOB, CAROL]
            assert (session.list_version, session.list_stamps) != cached


async def test_lists_of_another_account_are_not_a_cache(
    reference_server: ServerAddresses,
) -> None:
    lists = ContactLists()
    seen = Seen()
    with trio.fail_after(10):
        async with alice(reference_server, 7, lists, seen) as session:
            await session.sync()
        lists.account = BOB  # as if bob's session had synced them
        async with alice(reference_server, 7, lists, seen) as session:
            before = seen.lst
            await session.sync()
            assert seen.lst == before * 2  # asked for everything again (version 0)
            assert lists.account == ALICE
