"""Contact lists: ContactLists bookkeeping, and list sync per version against scripted servers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trio

from msmgr.__main__ import build_parser
from msmgr.cli.contacts import contacts_table
from msmgr.client import ContactLists, Session, protocol_number
from msmgr.codec import Command, Dialect, Direction, Framer

from .scripted import ALICE, ALICE_PW, Peer, passport_session, serve


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


@pytest.mark.parametrize("swapped", [False, True], ids=["idx-total", "total-idx"])
def test_msnp2_7_list_ends_after_as_many_lines_as_announced(swapped: bool) -> None:
    """Escargot (MSNP2-5) sends 'total idx' where the protocol says 'idx total'."""

    def lst(name: str, idx: int, total: int, email: str) -> str:
        first, second = (total, idx) if swapped else (idx, total)
        return f"LST 5 {name} 1 {first} {second} {email} {email.split('@')[0]}"

    lists = ContactLists()
    lists.start_sync()
    feed(lists, 5, "SYN 5 1", "GTC 5 1 A", "BLP 5 1 AL")
    feed(lists, 5, *(f"LST 5 {name} 1 0 0" for name in ("FL", "AL", "BL")))
    feed(lists, 5, lst("RL", 1, 2, "bob@example.com"))
    complete_after_one = lists.complete
    feed(lists, 5, lst("RL", 2, 2, "carol@example.com"))
    assert not complete_after_one
    assert lists.complete
    assert lists.lists["RL"] == ["bob@example.com", "carol@example.com"]


def test_add_and_rem_update_the_lists() -> None:
    lists = ContactLists()
    feed(lists, 7, "ADD 0 RL 14 dave@example.com Dave%20D", "ADD 9 FL 15 dave@example.com Dave")
    assert lists.lists["RL"] == ["dave@example.com"]
    assert lists.contacts["dave@example.com"].lists == {"RL", "FL"}
    feed(lists, 7, "REM 10 FL 16 dave@example.com")
    assert lists.lists["FL"] == []
    assert lists.contacts["dave@example.com"].lists == {"RL"}


BOB_GUID = "c690c221-0668-4203-a6c2-3b1f8405a048"
CAROL_GUID = "7a0c2f56-2b9e-4a57-9f1b-0f6f0d4c1e11"
GROUP_GUID = "0b5a6c2e-1b2c-4d5e-8f90-123456789abc"
STAMP = "2000-01-01T00:00:00.0-00:00"


@dataclass(frozen=True)
class SyncCase:
    """One version's SYN request, the server's answer, and what the lists must hold."""

    syn_args: tuple[str, ...]
    burst: tuple[str, ...]  # "{t}" stands for the SYN's TrID
    groups: dict[str, str]
    bob_groups: list[str]


MSNP8_BURST = (
    "SYN {t} 15 2 2",
    "GTC A",
    "BLP AL",
    "LSG 0 Other%20Contacts 0",
    "LSG 1 Friends 0",
    "LST bob@example.com Bob%20B 11 1",
    "BPR MOB Y",
    "LST carol@example.com Carol 8",
)
MSNP8_GROUPS = {"0": "Other Contacts", "1": "Friends"}
SYNC_CASES = {
    8: SyncCase(("0",), MSNP8_BURST, MSNP8_GROUPS, ["1"]),
    9: SyncCase(("0",), MSNP8_BURST, MSNP8_GROUPS, ["1"]),
    # Escargot's MSNP10: numeric group ids, name first in LSG, no groups after carol's bits
    10: SyncCase(
        ("0", "0"),
        (
            f"SYN {{t}} {STAMP} {STAMP} 2 1",
            "GTC A",
            "BLP AL",
            "PRP MFN Alice%20A.",
            "LSG Friends 1",
            f"LST N=bob@example.com F=Bob%20B C={BOB_GUID} 11 1",
            "BPR MOB Y",
            f"LST N=carol@example.com F=Carol C={CAROL_GUID} 8",
        ),
        {"1": "Friends"},
        ["1"],
    ),
    # MSNP11: GUID group ids; carol's line carries the extra trailing field some servers send
    11: SyncCase(
        ("0", "0"),
        (
            f"SYN {{t}} {STAMP} {STAMP} 2 1",
            "GTC A",
            "BLP AL",
            "PRP MFN Alice%20A.",
            f"LSG Friends {GROUP_GUID}",
            f"LST N=bob@example.com F=Bob%20B C={BOB_GUID} 11 {GROUP_GUID}",
            "BPR MOB Y",
            f"LST N=carol@example.com F=Carol C={CAROL_GUID} 8 1",
        ),
        {GROUP_GUID: "Friends"},
        [GROUP_GUID],
    ),
    # MSNP12: one more number (the network) after the list bits
    12: SyncCase(
        ("0", "0"),
        (
            f"SYN {{t}} {STAMP} {STAMP} 2 1",
            "GTC A",
            "BLP AL",
            "PRP MFN Alice%20A.",
            f"LSG Friends {GROUP_GUID}",
            f"LST N=bob@example.com F=Bob%20B C={BOB_GUID} 11 1 {GROUP_GUID}",
            "BPR MOB Y",
            f"LST N=carol@example.com F=Carol C={CAROL_GUID} 8 1",
        ),
        {GROUP_GUID: "Friends"},
        [GROUP_GUID],
    ),
}


@pytest.mark.parametrize("version", sorted(SYNC_CASES))
async def test_twn_list_sync_per_version(nursery: trio.Nursery, version: int) -> None:
    case = SYNC_CASES[version]
    syn_requests: list[Command] = []

    async def script(peer: Peer) -> None:
        await peer.twn_login(version)
        syn = await peer.expect("SYN")
        syn_requests.append(syn)
        for line in case.burst:
            await peer.send_line(line.format(t=syn.trid))
        await peer.expect("OUT")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with passport_session(address, protocol=version) as session:
            await session.login()
            assert session.version == version
            await session.sync()
            table = contacts_table(session)
    assert [s.args for s in syn_requests] == [case.syn_args]
    assert session.lists == {
        "FL": ["bob@example.com"],
        "AL": ["bob@example.com"],
        "BL": [],
        "RL": ["bob@example.com", "carol@example.com"],
    }
    bob, carol = session.contacts["bob@example.com"], session.contacts["carol@example.com"]
    assert (bob.name, bob.groups, bob.properties) == ("Bob B", case.bob_groups, {"MOB": "Y"})
    assert (carol.name, carol.groups) == ("Carol", [])
    assert session.contact_lists.groups == case.groups
    assert session.contact_lists.settings["GTC"] == "A"
    assert session.contact_lists.settings["BLP"] == "AL"
    assert session.friendly_name == "Alice A."
    if version >= 10:
        assert (bob.guid, carol.guid) == (BOB_GUID, CAROL_GUID)
        assert session.contact_lists.stamps == (STAMP, STAMP)
    else:
        assert session.list_version == 15
    bob_row = next(line for line in table.splitlines() if line.startswith("bob@"))
    assert bob_row.split()[-4:] == ["FL", "AL", "RL", "Friends"]


async def test_msnp10_empty_lists_complete_at_once(nursery: trio.Nursery) -> None:
    async def script(peer: Peer) -> None:
        await peer.twn_login(10)
        syn = await peer.expect("SYN")
        await peer.send_line(f"SYN {syn.trid} {STAMP} {STAMP} 0 0")
        await peer.send_line("GTC A")
        await peer.expect("OUT")

    address = await serve(nursery, script)
    with trio.fail_after(5):
        async with passport_session(address, protocol=10) as session:
            await session.login()
            lists = await session.sync()
    assert lists.contacts == {}
    assert lists.lists == {"FL": [], "AL": [], "BL": [], "RL": []}


def test_msnp10_adc_and_rem_by_guid() -> None:
    lists = ContactLists()
    feed(lists, 10, f"LST N=bob@example.com F=Bob C={BOB_GUID} 3 1")
    feed(lists, 10, "ADC 0 RL N=dave@example.com F=Dave%20D")
    assert lists.lists["RL"] == ["dave@example.com"]
    assert lists.contacts["dave@example.com"].name == "Dave D"
    feed(lists, 10, f"REM 12 FL {BOB_GUID} 1")  # out of group 1 only
    assert lists.contacts["bob@example.com"].groups == []
    assert lists.lists["FL"] == ["bob@example.com"]
    feed(lists, 10, f"REM 13 FL {BOB_GUID}")
    assert lists.lists["FL"] == []
    assert lists.contacts["bob@example.com"].lists == {"AL"}


@pytest.mark.parametrize("version", [8, 10, 12])
def test_a_bad_lst_line_still_counts_towards_completion(version: int) -> None:
    lists = ContactLists()
    lists.start_sync()
    feed(lists, version, f"SYN 5 {STAMP} {STAMP} 1 0" if version >= 10 else "SYN 5 3 1 0")
    waiting = lists.syncing
    feed(lists, version, "LST N=bob@example.com F=Bob" if version >= 10 else "LST bob@x.com Bob x")
    assert waiting
    assert lists.complete
    assert lists.lists["FL"] == []


@pytest.mark.parametrize("protocol", ["MSNP13", "MSNP15", "MSNP18", 13])
def test_msnp13_and_later_are_refused_up_front(protocol: str | int) -> None:
    with pytest.raises(ValueError, match=r"not supported.*MSNP2\.\.MSNP12"):
        Session(ALICE, ALICE_PW, protocol=protocol)
    with pytest.raises(ValueError, match=r"SOAP address book.*MSNP2\.\.MSNP12"):
        protocol_number(protocol)


@pytest.mark.parametrize("protocol", ["MSNP19", "MSNP99", 99])
def test_versions_beyond_msnp18_do_not_exist(protocol: str | int) -> None:
    with pytest.raises(ValueError, match="there is no MSNP") as info:
        protocol_number(protocol)
    message = str(info.value)
    assert message.startswith("there is no MSNP")
    assert "ends at MSNP18" in message
    assert "MSNP2..MSNP12" in message
    assert "SOAP" not in message


def test_the_cli_refuses_msnp13_at_argument_time(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["contacts", "--user", ALICE, "--password", "x", "--protocol", "MSNP13"]
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2
    assert "MSNP13 is not supported" in capsys.readouterr().err
    assert build_parser().parse_args([*argv[:-1], "MSNP12"]).protocol == 12
