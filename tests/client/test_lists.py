"""ContactLists bookkeeping for the list formats the scripted servers do not cover."""

from __future__ import annotations

from msmgr.client import ContactLists
from msmgr.codec import Command, Dialect, Direction, Framer


def feed(lists: ContactLists, version: int, *lines: str) -> None:
    framer = Framer(Direction.S2C, dialect=Dialect(version))
    for event in framer.feed("".join(f"{line}\r\n" for line in lines).encode()):
        assert isinstance(event, Command)
        lists.handle(event, version)


def test_msnp10_lst_with_n_f_c_fields() -> None:
    lists = ContactLists()
    lists.start_sync()
    feed(
        lists,
        10,
        "SYN 8 2005-04-23T18:57:44.8130000-07:00 2005-04-23T18:57:54.2070000-07:00 2 1",
        "LSG Friends 0f0c4f5c-8d2c-4d7e-a5b5-2e1a5d2c7a51",
        "LST N=bob@example.com F=Bob C=94cf8b2c-1234 11 0f0c4f5c-8d2c-4d7e-a5b5-2e1a5d2c7a51",
    )
    waiting_before = lists.syncing
    feed(lists, 10, "LST N=carol@example.com 8")
    assert waiting_before
    assert lists.complete
    assert lists.lists["FL"] == ["bob@example.com"]
    assert lists.lists["RL"] == ["bob@example.com", "carol@example.com"]
    assert lists.contacts["bob@example.com"].name == "Bob"


def test_msnp10_up_to_date_sync() -> None:
    lists = ContactLists()
    lists.start_sync()
    feed(lists, 10, "SYN 8 2005-04-23T18:57:44.81 2005-04-23T18:57:54.20")
    assert lists.complete


def test_add_and_rem_update_the_lists() -> None:
    lists = ContactLists()
    feed(lists, 7, "ADD 0 RL 14 dave@example.com Dave%20D", "ADD 9 FL 15 dave@example.com Dave")
    assert lists.lists["RL"] == ["dave@example.com"]
    assert lists.contacts["dave@example.com"].lists == {"RL", "FL"}
    feed(lists, 7, "REM 10 FL 16 dave@example.com")
    assert lists.lists["FL"] == []
    assert lists.contacts["dave@example.com"].lists == {"RL"}
