"""The TCP reassembler: segments split, reordered, duplicated, overlapping and missing,
generated (hypothesis) from the real sessions of ``tests/data/pcap``."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from msproxy.interchange.reassembly import Reassembler
from msproxy.interchange.segments import Conflict, Delivered, Ended, Gap, Outcome, Segment

from .streams import real_streams

A = ("10.0.0.1", 40000)
B = ("10.0.0.2", 1863)


def seg(
    seq: int,
    data: bytes = b"",
    *,
    syn: bool = False,
    fin: bool = False,
    rst: bool = False,
    t: float = 0.0,
) -> Segment:
    return Segment(
        t=t, src=A, dst=B, seq=seq % (1 << 32), ack=None, syn=syn, fin=fin, rst=rst, data=data
    )


def delivered(outcomes: list[Outcome]) -> bytes:
    return b"".join(o.data for o in outcomes if isinstance(o, Delivered))


def run(segments: list[Segment]) -> list[Outcome]:
    r = Reassembler()
    out: list[Outcome] = []
    for s in segments:
        out += r.segment(s)
    return out + r.flush(99.0)


def test_in_order_after_a_syn_then_fin() -> None:
    out = run([seg(100, syn=True), seg(101, b"VER 1 "), seg(107, b"MSNP8\r\n"), seg(114, fin=True)])
    assert delivered(out) == b"VER 1 MSNP8\r\n"
    assert out[-1] == Ended(0.0, False)


def test_out_of_order_is_held_until_the_hole_fills() -> None:
    r = Reassembler()
    assert r.segment(seg(0, syn=True)) == []
    assert r.segment(seg(4, b"EFGH", t=2.0)) == []
    assert r.held == 4
    assert r.segment(seg(1, b"ABC", t=3.0)) == [Delivered(3.0, b"ABC"), Delivered(2.0, b"EFGH")]


def test_identical_retransmission_is_dropped_silently() -> None:
    out = run([seg(0, syn=True), seg(1, b"abcdef"), seg(3, b"cdefgh")])
    assert delivered(out) == b"abcdefgh"
    assert not [o for o in out if isinstance(o, Conflict)]


def test_differing_overlap_keeps_the_first_copy_and_says_so() -> None:
    out = run([seg(0, syn=True), seg(1, b"abcdef"), seg(3, b"XYefgh", t=5.0)])
    assert delivered(out) == b"abcdefgh"
    assert Conflict(5.0, 2) in out
    held = run([seg(0, syn=True), seg(5, b"efgh"), seg(4, b"dEFghi", t=6.0), seg(1, b"abc")])
    assert delivered(held) == b"abcdefghi"
    assert Conflict(6.0, 2) in held


def test_a_lost_segment_is_a_gap_when_the_capture_ends() -> None:
    out = run([seg(0, syn=True), seg(1, b"abc"), seg(7, b"ghi"), seg(10, fin=True, t=4.0)])
    assert out == [
        Delivered(0.0, b"abc"),
        Gap(99.0, 3),
        Delivered(0.0, b"ghi"),
        Ended(4.0, False),
    ]


def test_the_ack_of_the_fin_makes_a_hole_before_it_a_gap() -> None:
    r = Reassembler()
    r.segment(seg(0, syn=True))
    r.segment(seg(1, b"abc"))
    assert r.segment(seg(7, fin=True, t=1.0)) == []
    assert r.acked(7, 2.0) == []
    assert r.acked(8, 3.0) == [Gap(3.0, 3), Ended(1.0, False)]


def test_an_ack_past_a_hole_makes_it_a_gap_at_once() -> None:
    r = Reassembler()
    r.segment(seg(0, syn=True))
    r.segment(seg(1, b"abc"))
    assert r.segment(seg(7, b"ghi")) == []
    assert r.acked(5, 1.0) == []  # (not past the hole's end: the peer did not have it)
    assert r.acked(10, 2.0) == [Gap(2.0, 3), Delivered(0.0, b"ghi")]


def test_without_a_syn_the_first_segment_starts_the_stream() -> None:
    out = run([seg(5000, b"MSG 1 N 3\r\n"), seg(5011, b"abc")])
    assert delivered(out) == b"MSG 1 N 3\r\nabc"


def test_sequence_numbers_wrap() -> None:
    isn = (1 << 32) - 3
    out = run([seg(isn, syn=True), seg(isn + 1, b"ab"), seg(isn + 3, b"cd"), seg(isn + 5, b"ef")])
    assert delivered(out) == b"abcdef"


def test_reset_ends_the_stream_with_holes_as_gaps() -> None:
    out = run([seg(0, syn=True), seg(1, b"ab"), seg(5, b"ef"), seg(7, rst=True, t=3.0)])
    assert out == [Delivered(0.0, b"ab"), Gap(3.0, 2), Delivered(0.0, b"ef"), Ended(3.0, True)]


def test_held_bytes_are_bounded() -> None:
    r = Reassembler(max_held=10)
    r.segment(seg(0, syn=True))
    out = r.segment(seg(5, b"x" * 11, t=1.0))
    assert out == [Gap(1.0, 4), Delivered(1.0, b"x" * 11)]
    assert r.held == 0


@dataclass(frozen=True)
class Plan:
    stream: bytes
    isn: int
    cuts: list[int]
    order: list[int]
    duplicates: list[int]
    missing: int | None
    overlaps: list[tuple[int, int]]


@st.composite
def plans(draw: st.DrawFn, *, lose: bool) -> Plan:
    stream = draw(st.sampled_from(real_streams()))
    size = len(stream)
    cuts = sorted(set(draw(st.lists(st.integers(1, size - 1), max_size=12)))) if size > 1 else []
    pieces = len(cuts) + 1
    order = draw(st.permutations(range(pieces)))
    duplicates = draw(st.lists(st.integers(0, pieces - 1), max_size=4))
    missing = draw(st.integers(0, pieces - 1)) if lose else None
    overlaps = draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(1, 64)), max_size=4))
    isn = draw(st.sampled_from([0, 1 << 31, (1 << 32) - 10, draw(st.integers(0, (1 << 32) - 1))]))
    return Plan(stream, isn, cuts, list(order), duplicates, missing, overlaps)


def segments_of(plan: Plan) -> tuple[list[Segment], list[tuple[int, int]]]:
    """The plan's segments (SYN first, FIN last) and the (start, end) of each piece."""
    bounds = list(zip([0, *plan.cuts], [*plan.cuts, len(plan.stream)], strict=True))
    base = plan.isn + 1
    data = [seg(base + a, plan.stream[a:b]) for a, b in bounds]
    chosen = [data[i] for i in plan.order if i != plan.missing]
    chosen += [data[i] for i in plan.duplicates if i != plan.missing]
    if plan.missing is None:  # overlaps re-cut the stream: they would fill the hole
        chosen += [seg(base + a, plan.stream[a : a + n]) for a, n in plan.overlaps]
    return [seg(plan.isn, syn=True), *chosen, seg(base + len(plan.stream), fin=True)], bounds


@settings(max_examples=150, deadline=None)
@given(plans(lose=False))
def test_any_arrival_order_with_copies_gives_the_stream_back(plan: Plan) -> None:
    segments, _ = segments_of(plan)
    out = run(segments)
    assert delivered(out) == plan.stream
    assert not [o for o in out if isinstance(o, (Gap, Conflict))]
    assert out[-1] == Ended(0.0, False)


@settings(max_examples=150, deadline=None)
@given(plans(lose=True))
def test_a_missing_segment_is_one_gap_of_its_size(plan: Plan) -> None:
    segments, bounds = segments_of(plan)
    assert plan.missing is not None
    start, end = bounds[plan.missing]
    out = run(segments)
    assert delivered(out) == plan.stream[:start] + plan.stream[end:]
    assert [o.size for o in out if isinstance(o, Gap)] == [end - start]
    gap_at = next(i for i, o in enumerate(out) if isinstance(o, Gap))
    assert delivered(out[:gap_at]) == plan.stream[:start]


@settings(max_examples=100, deadline=None)
@given(plans(lose=False), st.data())
def test_a_later_differing_copy_is_a_conflict_and_loses(plan: Plan, data: st.DataObject) -> None:
    segments, _ = segments_of(plan)
    size = len(plan.stream)
    at = data.draw(st.integers(0, size - 1))
    n = data.draw(st.integers(1, min(32, size - at)))
    forged = bytes(b ^ 0x20 for b in plan.stream[at : at + n])
    fin = segments.pop()
    segments += [seg(plan.isn + 1 + at, forged), fin]
    out = run(segments)
    assert delivered(out) == plan.stream
    assert [o.size for o in out if isinstance(o, Conflict)] == [n]


@settings(max_examples=50, deadline=None)
@given(plans(lose=False))
def test_both_directions_interleaved_stay_apart(plan: Plan) -> None:
    other = real_streams()[0]
    mine, _ = segments_of(plan)
    theirs = [
        Segment(t=0.0, src=B, dst=A, seq=s.seq, ack=None, syn=s.syn, fin=s.fin, data=s.data)
        for s in segments_of(Plan(other, 7, [len(other) // 2], [1, 0], [0], None, []))[0]
    ]
    ways = {A: Reassembler(), B: Reassembler()}
    got: dict[tuple[str, int], list[Outcome]] = {A: [], B: []}
    for i in range(max(len(mine), len(theirs))):
        for s in mine[i : i + 1] + theirs[i : i + 1]:
            got[s.src] += ways[s.src].segment(s)
    assert delivered(got[A]) == plan.stream
    assert delivered(got[B]) == other
