"""``msproxy import``: the real pcaps of ``tests/data/pcap`` (every link type), linking,
redaction, ``--port``, and gaps, overlaps and missing SYNs from synthetic segments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dpkt
import pytest

from msproxy.capture import Record, read_capture
from msproxy.inspect.streams import rebuild_direction
from msproxy.interchange import import_pcaps
from msproxy.interchange.importer import Importer
from msproxy.interchange.pcapfile import PcapError
from msproxy.interchange.segments import Segment

from .streams import DATA, PCAPS

IPV4 = [p for p in PCAPS if "ipv4" in p.name]


def imported(path: Path, tmp_path: Path, name: str = "", **options: object) -> list[Record]:
    out = tmp_path / f"{path.name}{name}.jsonl"
    import_pcaps([path], out, **options)  # type: ignore[arg-type]
    return list(read_capture(out))


def opens(records: list[Record]) -> list[tuple[int, str, int | None, str | None]]:
    return [(r["conn"], r["role"], r["parent"], r["via"]) for r in records if r["type"] == "open"]


def directions(records: list[Record]) -> dict[tuple[int, str], bytes]:
    conns = {r["conn"] for r in records if r["type"] == "open"}
    return {(c, d): rebuild_direction(records, c, d) for c in conns for d in ("c2s", "s2c")}


SESSION = [
    (1, "DS", None, None),
    (2, "NS", 1, "XFR"),
    (3, "DS", None, None),
    (4, "NS", 3, "XFR"),
    (5, "SB", 4, "XFR"),
    (6, "SB", 2, "RNG"),
]
"""bob's DS and NS, alice's DS and NS, her switchboard, the one bob was rung to."""


@pytest.mark.parametrize("path", PCAPS, ids=[p.name for p in PCAPS])
def test_a_real_session_imports_linked_as_the_proxy_links_it(path: Path, tmp_path: Path) -> None:
    records = imported(path, tmp_path)
    assert records[0]["imported"]["from"] == [path.name]
    assert opens(records) == SESSION
    assert [r for r in records if r["type"] in ("error", "raw")] == []
    closes = [r for r in records if r["type"] == "close"]
    assert len(closes) == 6
    commands = [(r["conn"], r["dir"], r["cmd"]) for r in records if r["type"] == "cmd"]
    assert (6, "c2s", "ANS") in commands
    assert (5, "s2c", "JOI") in commands
    assert commands[0] == (1, "c2s", "VER")


def test_every_link_type_gives_the_same_bytes(tmp_path: Path) -> None:
    first = directions(imported(IPV4[0], tmp_path, redact=False))
    assert sum(map(len, first.values())) > 3000
    for path in IPV4[1:]:
        assert directions(imported(path, tmp_path, redact=False)) == first, path.name


def test_secrets_are_redacted_unless_told_not_to(tmp_path: Path) -> None:
    path = DATA / "session-ipv6-en10mb.pcap"
    redacted = imported(path, tmp_path)
    logins = [r for r in redacted if r["type"] == "cmd" and r.get("redacted")]
    assert len(logins) == 4  # two MD5 hashes, two profiles
    assert redacted[0]["redacted"] is True
    kept = imported(path, tmp_path, redact=False, name="kept")
    assert not [r for r in kept if r.get("redacted")]
    hashes = [
        r["args"][2]
        for r in kept
        if r["type"] == "cmd"
        and r["cmd"] == "USR"
        and r["args"][:2] == ["MD5", "S"]
        and r["dir"] == "c2s"
    ]
    assert len(hashes) == 2
    assert all(len(h) == 32 for h in hashes)


def test_port_narrows_to_the_connections_on_it(tmp_path: Path) -> None:
    records = imported(DATA / "session-ipv4-en10mb.pcap", tmp_path)
    sb_port = int(
        next(r for r in records if r["type"] == "open" and r["role"] == "SB")["upstream"].rsplit(
            ":", 1
        )[1]
    )
    narrowed = imported(DATA / "session-ipv4-en10mb.pcap", tmp_path, ports=[sb_port], name="n")
    assert [o[1] for o in opens(narrowed)] == ["SB", "SB"]
    assert narrowed[0]["imported"]["ports"] == [sb_port]


# -- synthetic segments ---------------------------------------------------------------

C = ("192.0.2.7", 50000)
S = ("198.51.100.1", 7001)


def conversation(c2s: list[bytes], s2c: list[bytes], *, syn: bool = True) -> Iterator[Segment]:
    """One connection, its commands alternating, with SYN (optionally) and FINs."""
    cs, ss, t = 1000, 5000, 10.0
    if syn:
        yield Segment(t=t, src=C, dst=S, seq=cs, ack=None, syn=True)
        yield Segment(t=t, src=S, dst=C, seq=ss, ack=cs + 1, syn=True)
    cs, ss = cs + 1, ss + 1
    for i in range(max(len(c2s), len(s2c))):
        for data, src, dst in ((c2s, C, S), (s2c, S, C)):
            if i < len(data):
                t += 0.01
                seq = cs if src == C else ss
                yield Segment(t=t, src=src, dst=dst, seq=seq, ack=None, data=data[i])
                if src == C:
                    cs += len(data[i])
                else:
                    ss += len(data[i])
    yield Segment(t=t + 1, src=C, dst=S, seq=cs, ack=None, fin=True)
    yield Segment(t=t + 2, src=S, dst=C, seq=ss, ack=cs + 1, fin=True)


def feed(segments: list[Segment], **options: object) -> list[Record]:
    importer = Importer(redactor=None, **options)  # type: ignore[arg-type]
    records: list[Record] = []
    for segment in segments:
        records += importer.feed(segment)
    return records + importer.finish(99.0)


def test_a_gap_is_an_error_and_framing_resumes_at_the_next_line() -> None:
    segments = list(
        conversation(
            [
                b"VER 1 MSNP8 CVR0\r\n",
                b"MSG 2 N 20\r\n0123456789",
                b"abcdefghij",
                b"PNG\r\n",
                b"CHG 3 NLN\r\n",
            ],
            [b"VER 1 MSNP8\r\n"],
        )
    )
    lost = next(s for s in segments if s.data == b"abcdefghij")
    segments.remove(lost)
    records = feed(segments)
    errors = [r for r in records if r["type"] == "error"]
    assert [(e["kind"], e["dir"]) for e in errors] == [("gap", "c2s")]
    assert errors[0]["message"].startswith("10 bytes missing")
    raws = [r["data"] for r in records if r["type"] == "raw"]
    assert raws == ["MSG 2 N 20\r\n0123456789"]
    assert [r["cmd"] for r in records if r["type"] == "cmd"] == ["VER", "VER", "PNG", "CHG"]
    assert records[-1]["type"] == "close"
    assert records[-1]["by"] == "client"


def test_a_differing_retransmission_is_an_overlap_error_and_the_first_copy_stays() -> None:
    segments = list(conversation([b"VER 1 MSNP8 CVR0\r\n", b"CHG 2 NLN\r\n"], [b"VER 1 MSNP8\r\n"]))
    chg = next(s for s in segments if s.data == b"CHG 2 NLN\r\n")
    forged = Segment(t=chg.t, src=C, dst=S, seq=chg.seq, ack=None, data=b"CHG 2 BSY\r\n")
    segments.insert(segments.index(chg) + 1, forged)
    records = feed(segments)
    assert [r["kind"] for r in records if r["type"] == "error"] == ["overlap"]
    assert [r["args"] for r in records if r["type"] == "cmd" and r["cmd"] == "CHG"] == [["NLN"]]


def test_without_the_syn_the_client_is_who_sends_the_first_login_line() -> None:
    records = feed(
        list(
            conversation(
                [b"USR 1 bob@example.com 1.2.3\r\n"],
                [b"USR 1 OK bob@example.com Bob\r\n"],
                syn=False,
            )
        )
    )
    opened = records[0]
    assert (opened["role"], opened["client"], opened["upstream"]) == (
        "SB",
        "192.0.2.7:50000",
        "198.51.100.1:7001",
    )


def test_other_traffic_is_not_msnp_unless_its_port_is_named() -> None:
    http = list(conversation([b"GET / HTTP/1.1\r\n\r\n"], [b"HTTP/1.1 200 OK\r\n\r\n"]))
    assert feed(http) == []
    midway = list(conversation([b"PNG\r\n"], [b"QNG 50\r\n"], syn=False))
    assert feed(midway) == []
    records = feed(midway, ports=[7001])
    assert records[0]["client"] == "192.0.2.7:50000"
    assert [r["cmd"] for r in records if r["type"] == "cmd"] == ["PNG", "QNG"]


def test_connections_are_numbered_by_their_first_packet() -> None:
    early = list(conversation([b"VER 1 MSNP8 CVR0\r\n"], [b"VER 1 MSNP8\r\n"]))
    late = [
        Segment(
            t=s.t,
            src=(s.src[0], s.src[1] + 1),
            dst=s.dst,
            seq=s.seq,
            ack=s.ack,
            syn=s.syn,
            fin=s.fin,
            data=s.data,
        )
        if s.src == C
        else Segment(
            t=s.t,
            src=s.src,
            dst=(s.dst[0], s.dst[1] + 1),
            seq=s.seq,
            ack=s.ack,
            syn=s.syn,
            fin=s.fin,
            data=s.data,
        )
        for s in early
    ]
    # the early connection's SYN first, then the whole late one, then the early one's data
    records = feed([early[0], *late, *early[1:]])
    assert [(r["conn"], r["client"]) for r in records if r["type"] == "open"] == [
        (1, "192.0.2.7:50000"),
        (2, "192.0.2.7:50001"),
    ]


def test_the_same_ports_again_after_a_close_are_a_new_connection() -> None:
    once = list(conversation([b"VER 1 MSNP8 CVR0\r\n"], [b"VER 1 MSNP8\r\n"]))
    again = [
        Segment(
            t=s.t + 10,
            src=s.src,
            dst=s.dst,
            seq=s.seq + 7,
            ack=s.ack,
            syn=s.syn,
            fin=s.fin,
            data=s.data,
        )
        for s in once
    ]
    records = feed([*once, *again])
    assert [r["conn"] for r in records if r["type"] == "open"] == [1, 2]
    assert [r["conn"] for r in records if r["type"] == "close"] == [1, 2]


def test_traffic_after_a_not_msnp_verdict_is_not_reassembled() -> None:
    http = list(conversation([b"GET / HTTP/1.1\r\n\r\n", b"x" * 5000], [b"HTTP/1.1 200 OK\r\n"]))
    importer = Importer(redactor=None)
    for segment in http[:3]:
        importer.feed(segment)
    flow = next(iter(importer._flows.values()))
    assert flow.verdict is not None
    assert not flow.verdict.msnp
    assert flow.ends == {}
    for segment in http[3:]:
        assert importer.feed(segment) == []
    assert importer._flows == {}  # both FINs: forgotten


def test_progress_reaches_the_size_of_every_file(tmp_path: Path) -> None:
    files = [DATA / "session-ipv4-sll.pcap", DATA / "session-ipv4.pcapng"]
    seen: list[int] = []
    import_pcaps(files, tmp_path / "out.jsonl", progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == sum(f.stat().st_size for f in files)


def test_a_bad_second_file_leaves_no_capture(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"nothing")
    out = tmp_path / "out.jsonl"
    with pytest.raises(PcapError):
        import_pcaps([DATA / "session-ipv4-sll.pcap", bad], out)
    assert not out.exists()


@pytest.mark.parametrize("link", [101, 228, 0], ids=["raw", "ipv4", "null"])
def test_raw_ip_and_loopback_link_types(tmp_path: Path, link: int) -> None:
    """The Ethernet pcap rewritten with dpkt as raw IP and BSD loopback reads the same."""
    source = DATA / "session-ipv4-en10mb.pcap"
    converted = tmp_path / f"link{link}.pcap"
    with open(source, "rb") as f, open(converted, "wb") as out:
        writer = dpkt.pcap.Writer(out, linktype=link)
        for ts, frame in dpkt.pcap.Reader(f):
            packet = bytes(frame)[14:]  # without the Ethernet header
            if link == 0:
                packet = (2).to_bytes(4, "little") + packet  # AF_INET, host byte order
            writer.writepkt(packet, ts)
    expected = directions(imported(source, tmp_path, redact=False))
    assert directions(imported(converted, tmp_path, redact=False)) == expected


def test_a_reset_closes_the_connection_by_its_sender() -> None:
    segments = list(conversation([b"VER 1 MSNP8 CVR0\r\n"], [b"VER 1 MSNP8\r\n"]))[:-2]
    last = segments[-1]
    reset = Segment(t=last.t + 1, src=S, dst=C, seq=5000 + 1 + 13, ack=None, rst=True)
    records = feed([*segments, reset])
    close = records[-1]
    assert (close["type"], close["by"], close["reason"], close["t"]) == (
        "close",
        "server",
        "reset",
        last.t + 1,
    )
    assert "finished" not in close
