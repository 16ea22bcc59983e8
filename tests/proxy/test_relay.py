"""The sans-IO relay: routing, byte-exact forwarding, rewrites, records, limits, closing."""

from __future__ import annotations

import pytest

from msmgr.codec import Limits
from msmgr.debug import Debug
from msproxy.proxy.commands import (
    CloseSide,
    ForwardUnframed,
    OpenUpstream,
    SendData,
    WriteRecords,
)
from msproxy.proxy.events import (
    ConnectionClosed,
    DataReceived,
    Shutdown,
    Side,
    UpstreamOpened,
)
from msproxy.proxy.relay import Relay, RelayState

from .relayutil import Driver, closes, rebuilt, records, sent, started

# Every test here runs over both record paths (C fast path and pure Python).
pytestmark = pytest.mark.usefixtures("record_path")

C2S = [
    b"VER 1 MSNP8 CVR0\r\n",
    b"CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0515 MSMSGS alice@hotmail.com\r\n",
    b"USR 3 TWN I alice@hotmail.com\r\n",
    b"SYN 8 0\r\n",
    b"QRY 10 msmsgs@msnmsgr.com 32\r\n8f2f5a91b72102cd28355e9fc9000d6e",
    b"PNG\r\n",
    b"bogus line\n",
    b"MSG 4 N 19\r\nMIME-Version: 1.0\r\n",
]
S2C = [
    b"VER 1 MSNP8\r\n",
    b"CVR 2 5.0.0537 5.0.0537 1.0.0863 http://x/setupdl.exe http://messenger.microsoft.com\r\n",
    b"USR 6 TWN S lc=1033,id=507\r\n",
    b"MSG Hotmail Hotmail 24\r\nContent-Type: text/plain",
    b"SYN 8 15 1 1\r\n",
    b"LST bob@x.com Bob 11 0\r\n",
    b"CHL 0 15570131571988941333\r\n",
    b"MSG bob@x.com Bob 6\r\n\x00\xff\x01\x02\r\n",
    b"QNG\r\n",
]


def test_first_command_opens_upstream_and_is_held_until_open() -> None:
    relay = Relay(7, client="127.0.0.1:5000", opened=1.0)
    out = relay.handle(DataReceived(side=Side.CLIENT, data=b"VER 1 MSN", t=2.0))
    assert out == []
    out = relay.handle(DataReceived(side=Side.CLIENT, data=b"P8 CVR0\r\nCVR 2 x\r\n", t=2.5))
    assert [type(c) for c in out] == [OpenUpstream]
    first = out[0]
    assert isinstance(first, OpenUpstream)
    assert first.first.verb == "VER"
    assert sent(out, Side.UPSTREAM) == b""
    out = relay.handle(
        UpstreamOpened(upstream="10.0.0.1:1863", role="NS", parent=3, via="XFR", t=3.0)
    )
    assert sent(out, Side.UPSTREAM) == b"VER 1 MSNP8 CVR0\r\nCVR 2 x\r\n"
    recs = records(out)
    # The open record comes first, with the accept time; the commands keep their arrival
    # time; ``ready`` is when the upstream connection was made.
    assert recs[0] == {
        "type": "open",
        "t": 1.0,
        "conn": 7,
        "role": "NS",
        "client": "127.0.0.1:5000",
        "upstream": "10.0.0.1:1863",
        "parent": 3,
        "via": "XFR",
        "ready": 3.0,
    }
    assert [(r["cmd"], r["t"]) for r in recs[1:]] == [("VER", 2.5), ("CVR", 2.5)]
    assert relay.name == "NS#7"


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 100000])
def test_forwarded_bytes_and_capture_equal_input_for_any_chunking(chunk: int) -> None:
    _relay, driver = started(redactor=None)
    client = b"".join(C2S[1:])
    server = b"".join(S2C)
    for i in range(0, max(len(client), len(server)), chunk):
        driver.feed(Side.CLIENT, client[i : i + chunk])
        driver.feed(Side.UPSTREAM, server[i : i + chunk])
    assert sent(driver.log, Side.UPSTREAM) == b"".join(C2S)
    assert sent(driver.log, Side.CLIENT) == server
    recs = records(driver.log)
    assert rebuilt(recs, "c2s") == b"".join(C2S)
    assert rebuilt(recs, "s2c") == server
    kinds = [r["type"] for r in recs]
    assert kinds.count("cmd") == len(C2S) - 1 + len(S2C)
    assert any(r["type"] == "error" and r["kind"] == "unparsed" for r in recs)


def test_split_points_of_every_two_chunk_division() -> None:
    data = b"".join(S2C)
    for cut in range(len(data) + 1):
        _relay, driver = started()
        driver.feed(Side.UPSTREAM, data[:cut])
        driver.feed(Side.UPSTREAM, data[cut:])
        assert sent(driver.log, Side.CLIENT) == data, cut


def test_unparsed_is_forwarded_and_recorded() -> None:
    _relay, driver = started()
    out = driver.feed(Side.CLIENT, b"hello there\r\nPNG\r\n")
    assert sent(out, Side.UPSTREAM) == b"hello there\r\nPNG\r\n"
    recs = records(out)
    assert [r["type"] for r in recs] == ["error", "raw", "cmd"]
    assert recs[1]["data"] == "hello there\r\n"


def unframed(relay: Relay) -> bool:
    """``relay.c2s_unframed`` read afresh (no narrowing by mypy across relay calls)."""
    return relay.c2s_unframed


def test_line_over_the_limit_closes_the_connection() -> None:
    """Once relaying, client chunks are forwarded whole before they are framed: the
    server got the chunk with the start of the long line; the capture says so."""
    relay, driver = started(limits=Limits(max_line=64, max_payload=100))
    assert unframed(relay)
    assert driver.unframed
    out = driver.feed(Side.CLIENT, b"PNG\r\n" + b"A" * 100)
    assert isinstance(out[0], SendData)
    assert sent(out[1:], Side.UPSTREAM) == b""  # the relay does not send it again
    assert sent(out, Side.UPSTREAM) == b"PNG\r\n" + b"A" * 100
    recs = records(out)
    assert [r["type"] for r in recs] == ["cmd", "error", "raw", "close"]
    assert recs[1]["kind"] == "limit"
    assert recs[2]["data"] == "A" * 100
    assert "forwarded" not in recs[2]
    assert recs[3]["by"] == "proxy"
    assert {(c.side, c.half_close) for c in closes(out)} == {
        (Side.CLIENT, False),
        (Side.UPSTREAM, False),
    }
    assert relay.closed
    assert not unframed(relay)
    assert relay.handle(DataReceived(side=Side.CLIENT, data=b"PNG\r\n")) == []


def test_line_over_the_limit_is_not_forwarded_while_framing_first() -> None:
    """A partial command held when the upstream opened: client bytes are framed before
    they are forwarded until that command is complete; a long line then stays here."""
    relay = Relay(1, client="127.0.0.1:5000", limits=Limits(max_line=64, max_payload=100))
    driver = Driver(relay)
    out = driver.feed(Side.CLIENT, b"VER 1 MSNP8 CVR0\r\nPN")
    assert sent(out, Side.UPSTREAM) == b"VER 1 MSNP8 CVR0\r\n"
    assert relay.state is RelayState.RELAYING
    assert not unframed(relay)
    assert not any(isinstance(c, ForwardUnframed) for c in driver.log)
    out = driver.feed(Side.CLIENT, b"G\r\n" + b"A" * 100)
    assert sent(out, Side.UPSTREAM) == b"PNG\r\n"
    recs = records(out)
    assert [r["type"] for r in recs] == ["cmd", "error", "raw", "close"]
    assert recs[2]["forwarded"] is False
    assert relay.closed


def test_client_chunks_are_forwarded_whole_once_nothing_is_held() -> None:
    relay = Relay(1, client="127.0.0.1:5000")
    driver = Driver(relay)
    driver.feed(Side.CLIENT, b"VER 1 MSNP8 CVR0\r\nPN")
    assert not unframed(relay)
    out = driver.feed(Side.CLIENT, b"G\r\nCHG 3 N")
    assert sent(out, Side.UPSTREAM) == b"PNG\r\n"
    assert not unframed(relay)  # "CHG 3 N" is still held
    out = driver.feed(Side.CLIENT, b"LN 0\r\n")
    assert sent(out, Side.UPSTREAM) == b"CHG 3 NLN 0\r\n"
    # The relay says so once, after the forward and the records of that chunk.
    assert [type(c) for c in out] == [SendData, WriteRecords, ForwardUnframed]
    assert unframed(relay)
    out = driver.feed(Side.CLIENT, b"PNG\r\nCAL 4 b")
    assert sent(out, Side.UPSTREAM) == b"PNG\r\nCAL 4 b"  # before it is complete
    assert [r["cmd"] for r in records(out)] == ["PNG"]
    out = driver.feed(Side.CLIENT, b"ob@example.com\r\n")
    assert sent(out, Side.UPSTREAM) == b"ob@example.com\r\n"
    assert [(r["cmd"], r["args"]) for r in records(out)] == [("CAL", ["bob@example.com"])]
    # From now on the relay only frames and records client chunks: the driver sent them.
    out = relay.handle(DataReceived(side=Side.CLIENT, data=b"PNG\r\n"))
    assert [type(c) for c in out] == [WriteRecords]
    # Server bytes are still the relay's to send.
    out = relay.handle(DataReceived(side=Side.UPSTREAM, data=b"QNG 50\r\n"))
    assert [type(c) for c in out] == [SendData, WriteRecords]
    # At the end, a partial line is recorded as forwarded, and not sent again.
    relay.handle(DataReceived(side=Side.CLIENT, data=b"junk"))
    out = relay.handle(ConnectionClosed(side=Side.CLIENT, t=1.0))
    assert sent(out, Side.UPSTREAM) == b""
    (raw,) = [r for r in records(out) if r["type"] == "raw"]
    assert raw["data"] == "junk"
    assert "forwarded" not in raw


def test_payload_over_the_limit_closes_the_connection() -> None:
    relay, _ = started(limits=Limits(max_line=64, max_payload=100))
    out = relay.handle(DataReceived(side=Side.UPSTREAM, data=b"MSG a b 5000\r\nxx"))
    assert sent(out, Side.CLIENT) == b""
    assert [r["kind"] for r in records(out) if r["type"] == "error"] == ["limit"]
    assert relay.closed


@pytest.mark.parametrize(("first", "by"), [(Side.CLIENT, "client"), (Side.UPSTREAM, "server")])
def test_clean_close_is_half_closed_then_finished(first: Side, by: str) -> None:
    relay, _ = started()
    out = relay.handle(ConnectionClosed(side=first, t=1.0))
    assert closes(out) == [CloseSide(side=first.other, half_close=True)]
    assert records(out) == []
    out = relay.handle(ConnectionClosed(side=first.other, t=2.0))
    # ``t``: when the first side ended; ``finished``: when both were done.
    assert records(out) == [
        {
            "type": "close",
            "t": 1.0,
            "conn": 1,
            "by": by,
            "reason": "end of stream",
            "finished": 2.0,
        }
    ]
    assert len(closes(out)) == 2
    assert relay.closed


def test_close_in_the_middle_of_a_payload_forwards_and_records_the_rest() -> None:
    relay, _ = started()
    out = relay.handle(DataReceived(side=Side.UPSTREAM, data=b"QNG\r\nMSG a b 100\r\npartial"))
    assert sent(out, Side.CLIENT) == b"QNG\r\n"
    out = relay.handle(ConnectionClosed(side=Side.UPSTREAM))
    assert sent(out, Side.CLIENT) == b"MSG a b 100\r\npartial"
    recs = records(out)
    assert [r["type"] for r in recs] == ["error", "raw"]
    assert recs[1]["data"] == "MSG a b 100\r\npartial"


def test_broken_side_finishes_at_once() -> None:
    relay, _ = started()
    out = relay.handle(ConnectionClosed(side=Side.UPSTREAM, error="connection reset"))
    assert records(out)[-1]["reason"] == "connection reset"
    assert records(out)[-1]["by"] == "server"
    assert len(closes(out)) == 2


def test_upstream_failure_records_open_error_close_with_the_held_bytes() -> None:
    relay = Relay(2, client="127.0.0.1:9")
    relay.handle(DataReceived(side=Side.CLIENT, data=b"VER 1 MSNP8 CVR0\r\n"))
    out = relay.handle(UpstreamOpened(upstream="10.9.9.9:1863", role="DS", error="refused"))
    recs = records(out)
    assert [r["type"] for r in recs] == ["open", "error", "cmd", "close"]
    assert "ready" not in recs[0]  # the upstream connection was never made
    assert rebuilt(recs, "c2s") == b"VER 1 MSNP8 CVR0\r\n"
    assert sent(out, Side.UPSTREAM) == b""
    assert relay.closed


def test_client_closing_before_any_command_is_recorded() -> None:
    relay = Relay(3, client="127.0.0.1:9")
    relay.handle(DataReceived(side=Side.CLIENT, data=b"VER 1 MSN"))
    out = relay.handle(ConnectionClosed(side=Side.CLIENT))
    recs = records(out)
    assert [r["type"] for r in recs] == ["open", "error", "raw", "close"]
    assert recs[2]["data"] == "VER 1 MSN"
    assert recs[-1]["by"] == "client"


def test_shutdown_records_the_close() -> None:
    relay, _ = started()
    out = relay.handle(Shutdown(t=9.0))
    assert records(out)[-1] == {
        "type": "close",
        "t": 9.0,
        "conn": 1,
        "by": "proxy",
        "reason": "proxy shutting down",
    }
    assert relay.handle(Shutdown()) == []


def test_data_is_forwarded_before_its_records() -> None:
    """Nothing stands between a chunk and its forward: its records come after (the
    driver still executes them when the forward fails, see test_session)."""
    relay, driver = started()
    out = driver.feed(Side.CLIENT, b"PNG\r\n")
    assert [type(c) for c in out] == [SendData, WriteRecords]
    out = relay.handle(DataReceived(side=Side.UPSTREAM, data=b"QNG 50\r\nOUT\r\n"))
    assert [type(c) for c in out] == [SendData, WriteRecords]


def test_error_records_carry_message() -> None:
    relay, _ = started()
    out = relay.handle(DataReceived(side=Side.UPSTREAM, data=b"what?\r\n"))
    (error,) = [r for r in records(out) if r["type"] == "error"]
    assert error["message"] == "not an MSNP command line"
    assert "reason" not in error


def test_fast_path_runs_only_while_no_command_is_logged(record_path: str) -> None:
    # The scanner (C, or Python: the same records) frames runs of commands without
    # Command objects, so it must be off whenever a console line per command is asked
    # for, and back on when it is not.
    relay, driver = started(debug=Debug.OPEN)
    framers = [way.framer for way in relay._ways]
    scanners = [way.scanner for way in relay._ways]
    assert all(s.accelerated is (record_path == "c") for s in scanners)
    assert [f.bulk for f in framers] == scanners
    relay.debug = Debug.COMMAND_RECV
    assert all(f.bulk is None for f in framers)
    out = driver.feed(Side.UPSTREAM, b"CHG 9 NLN 0\r\n")
    assert [r["cmd"] for r in records(out)] == ["CHG"]
    relay.debug = Debug.NONE
    assert [f.bulk for f in framers] == scanners


def test_big_pieces_are_forwarded_alone_and_small_ones_together() -> None:
    from msproxy.proxy.sends import SEND_ALONE, coalesced

    big = memoryview(b"B" * SEND_ALONE)
    pieces: list[bytes | memoryview] = [b"a", b"b", big, b"c", big, big, b"d", b"e"]
    out = coalesced(pieces)
    assert [bytes(p) for p in out] == [b"ab", bytes(big), b"c", bytes(big), bytes(big), b"de"]
    assert out[1] is big  # sent as it is: no copy
    assert coalesced([b"x"]) == [b"x"]
    assert b"".join(out) == b"".join(pieces)
