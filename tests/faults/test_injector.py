"""The sans-IO fault injector: bytes in, steps out, for each action and each choice."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from msmgr.codec import Direction
from msproxy.capture import Record
from msproxy.faults import Applied, Close, FaultInjector, Step, Wait, Write, parse_rule

C2S, S2C = Direction.C2S, Direction.S2C
NLN = [f"NLN NLN user{i}@x.com User{i} 0\r\n".encode() for i in range(1, 7)]
TRAFFIC = b"VER 1 MSNP8\r\n" + b"".join(NLN) + b"MSG a b 2\r\nhiQNG 50\r\n"


def injector(*rules: str, role: str = "NS") -> FaultInjector:
    return FaultInjector([parse_rule(rule) for rule in rules], conn=7, role=role)


def written(steps: Sequence[Step]) -> bytes:
    return b"".join(step.data for step in steps if isinstance(step, Write))


def records(steps: Sequence[Step]) -> list[Record]:
    return [step.record for step in steps if isinstance(step, Applied)]


def feed(inj: FaultInjector, data: bytes, step: int, direction: Direction = S2C) -> list[Step]:
    out: list[Step] = []
    for start in range(0, len(data), step):
        out += inj.forward(direction, data[start : start + step], 1.0)
    return out


def test_without_a_match_every_byte_goes_on_in_one_write() -> None:
    steps = injector("action=drop,cmd=FLN").forward(S2C, TRAFFIC, 1.0)
    assert steps == [Write(TRAFFIC)]


@pytest.mark.parametrize("step", [1, 7, len(TRAFFIC)])
def test_drop_the_nth_match_whatever_the_chunking(step: int) -> None:
    steps = feed(injector("action=drop,cmd=NLN,role=NS,nth=3"), TRAFFIC, step)
    assert written(steps) == TRAFFIC.replace(NLN[2], b"")
    offset = TRAFFIC.index(NLN[2])
    assert records(steps) == [
        {
            "type": "fault",
            "t": 1.0,
            "conn": 7,
            "dir": "s2c",
            "action": "drop",
            "rule": 1,
            "cmd": "NLN",
            "offset": offset,
            "size": len(NLN[2]),
        }
    ]


def test_every_nth_match() -> None:
    steps = injector("action=drop,cmd=NLN,every=2").forward(S2C, TRAFFIC, 1.0)
    assert written(steps) == TRAFFIC.replace(NLN[1], b"").replace(NLN[3], b"").replace(NLN[5], b"")
    assert [r["offset"] for r in records(steps)] == [TRAFFIC.index(NLN[i]) for i in (1, 3, 5)]


def test_the_keys_dir_role_and_cmd_select() -> None:
    assert injector("action=drop,dir=c2s").forward(S2C, TRAFFIC, 1.0) == [Write(TRAFFIC)]
    assert injector("action=drop,role=SB").forward(S2C, TRAFFIC, 1.0) == [Write(TRAFFIC)]
    steps = injector("action=drop,cmd=MSG|VER,dir=s2c,role=NS").forward(S2C, TRAFFIC, 1.0)
    assert written(steps) == b"".join(NLN) + b"QNG 50\r\n"


def test_counts_are_per_direction_of_the_rule_and_per_connection() -> None:
    inj = injector("action=drop,cmd=PNG,nth=2")
    assert written(inj.forward(C2S, b"PNG\r\n", 1.0)) == b"PNG\r\n"
    assert written(inj.forward(S2C, b"PNG\r\n", 1.0)) == b""  # the second PNG of the rule
    assert written(inj.forward(C2S, b"PNG\r\n", 1.0)) == b"PNG\r\n"
    fresh = injector("action=drop,cmd=PNG,nth=2")
    assert written(fresh.forward(C2S, b"PNG\r\nPNG\r\n", 1.0)) == b"PNG\r\n"


def chosen(rule: str, count: int = 200) -> list[int]:
    inj = injector(rule)
    steps = inj.forward(C2S, b"PNG\r\n" * count, 1.0)
    return [r["offset"] // 5 for r in records(steps)]


def test_prob_with_a_seed_is_reproducible() -> None:
    first = chosen("action=drop,cmd=PNG,prob=0.3,seed=42")
    assert first == chosen("action=drop,cmd=PNG,prob=0.3,seed=42")
    assert first != chosen("action=drop,cmd=PNG,prob=0.3,seed=43")
    assert 30 < len(first) < 90  # about 60 of 200: chosen, not all or none
    assert chosen("action=drop,cmd=PNG,prob=1,seed=1") == list(range(200))


def test_prob_draws_only_among_the_nth_or_every_matches() -> None:
    picks = chosen("action=drop,cmd=PNG,every=4,prob=0.5,seed=9")
    assert picks
    assert all(pick % 4 == 3 for pick in picks)
    assert len(picks) < 50


def test_delay_holds_the_command_and_what_follows() -> None:
    steps = injector("action=delay,ms=200,cmd=MSG,dir=s2c").forward(S2C, TRAFFIC, 1.0)
    at = TRAFFIC.index(b"MSG")
    assert steps[0] == Write(TRAFFIC[:at])
    assert isinstance(steps[1], Applied)
    assert steps[1].record["ms"] == 200
    assert "fault delay ms=200 on MSG s2c (rule 1: " in steps[1].message
    assert steps[2:] == [Wait(0.2), Write(TRAFFIC[at:])]


def test_jitter_is_drawn_from_the_seed() -> None:
    def holds(seed: int) -> list[float]:
        inj = injector(f"action=delay,ms=100,jitter=50,cmd=PNG,seed={seed}")
        return [s.seconds for s in inj.forward(C2S, b"PNG\r\n" * 20, 1.0) if isinstance(s, Wait)]

    assert holds(5) == holds(5) != holds(6)
    assert all(0.05 <= hold <= 0.15 for hold in holds(5))
    assert len(set(holds(5))) > 1


def test_delays_of_several_rules_add_up() -> None:
    inj = injector("action=delay,ms=100,cmd=PNG", "action=delay,ms=50")
    steps = inj.forward(C2S, b"PNG\r\n", 1.0)
    assert [r["rule"] for r in records(steps)] == [1, 2]
    assert [s for s in steps if isinstance(s, Wait)] == [Wait(0.15)]


def test_reset_closes_before_the_command() -> None:
    inj = injector("action=reset,cmd=MSG")
    steps = inj.forward(S2C, TRAFFIC, 1.0)
    at = TRAFFIC.index(b"MSG")
    assert written(steps) == TRAFFIC[:at]
    assert isinstance(steps[-1], Close)
    assert steps[-1].reason == "fault: reset on MSG s2c (rule 1)"
    assert inj.closed
    assert inj.forward(C2S, b"PNG\r\n", 2.0) == []
    assert inj.finish(S2C, 2.0) == []


def test_stall_keeps_nothing_from_the_match_on_in_that_direction_only() -> None:
    inj = injector("action=stall,cmd=NLN,dir=s2c,nth=2")
    steps = feed(inj, TRAFFIC, 10)
    assert written(steps) == TRAFFIC[: TRAFFIC.index(NLN[1])]
    assert len(records(steps)) == 1
    assert inj.forward(S2C, b"PNG\r\nnot a command\r\n", 2.0) == []
    assert written(inj.forward(C2S, b"PNG\r\n", 2.0)) == b"PNG\r\n"
    assert not inj.closed


def test_rechunk_writes_the_matches_in_pieces() -> None:
    steps = injector("action=rechunk,bytes=4,cmd=MSG").forward(S2C, TRAFFIC, 1.0)
    at = TRAFFIC.index(b"MSG")
    message = b"MSG a b 2\r\nhi"
    writes = [s.data for s in steps if isinstance(s, Write)]
    assert writes == [TRAFFIC[:at], b"MSG ", b"a b ", b"2\r\nh", b"i", b"QNG 50\r\n"]
    assert records(steps)[0]["bytes"] == 4
    assert records(steps)[0]["size"] == len(message)


@pytest.mark.parametrize("after", [0, 1, 20, len(TRAFFIC) - 1])
def test_cut_closes_after_that_many_bytes(after: int) -> None:
    inj = injector(f"action=cut,after={after},dir=s2c")
    steps = feed(inj, TRAFFIC, 3)
    assert written(steps) == TRAFFIC[:after]
    assert isinstance(steps[-1], Close)
    assert records(steps)[0]["after"] == after
    assert records(steps)[0]["offset"] == 0


def test_cut_counts_from_the_first_match() -> None:
    inj = injector("action=cut,after=5,cmd=MSG")
    steps = inj.forward(S2C, TRAFFIC, 1.0)
    assert written(steps) == TRAFFIC[: TRAFFIC.index(b"MSG") + 5]
    assert len(records(steps)) == 1  # later matches do not start another


def test_cut_not_reached_keeps_the_connection() -> None:
    inj = injector("action=cut,after=1000")
    assert written(inj.forward(S2C, TRAFFIC, 1.0)) == TRAFFIC
    assert not inj.closed


def test_bytes_that_are_not_commands_go_on_unselected() -> None:
    data = b"hello there\r\nPNG\r\n"
    steps = injector("action=drop").forward(C2S, data, 1.0)
    assert written(steps) == b"hello there\r\n"
    assert [r["cmd"] for r in records(steps)] == ["PNG"]
    assert records(steps)[0]["offset"] == len(b"hello there\r\n")


def test_an_incomplete_command_is_held_then_forwarded_at_the_end() -> None:
    inj = injector("action=drop,cmd=PNG")
    assert inj.forward(C2S, b"MSG 1 N 10\r\nabc", 1.0) == []
    assert inj.finish(C2S, 2.0) == [Write(b"MSG 1 N 10\r\nabc")]


def test_framing_lost_passes_the_rest_on() -> None:
    from msmgr.codec import Limits

    inj = FaultInjector([parse_rule("action=drop,cmd=PNG")], conn=1, role="DS", limits=Limits(64))
    data = b"X" * 100 + b"\r\nPNG\r\n"
    assert written(inj.forward(C2S, data, 1.0)) == data
