"""The ``--fault`` grammar: rules that parse (and print back), rules refused naming the key."""

from __future__ import annotations

import pytest

from msproxy.faults import Action, FaultRule, FaultRuleError, parse_rule


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("action=delay,ms=200,cmd=MSG,dir=s2c", "action=delay,ms=200,cmd=MSG,dir=s2c"),
        ("action=drop,cmd=NLN,role=NS,nth=3", "action=drop,cmd=NLN,role=NS,nth=3"),
        ("action=reset,cmd=XFR", "action=reset,cmd=XFR"),
        ("action=stall,dir=c2s", "action=stall,dir=c2s"),
        ("action=rechunk,bytes=1", "action=rechunk,bytes=1"),
        ("action=cut,after=0", "action=cut,after=0"),
        (" action = drop , cmd = msg|911 , role = sb ", "action=drop,cmd=911|MSG,role=SB"),
        ("action=drop,every=2,prob=0.5,seed=7", "action=drop,every=2,prob=0.5,seed=7"),
        ("action=delay,ms=1.5,jitter=1,seed=3", "action=delay,ms=1.5,jitter=1,seed=3"),
        ("action=DROP,dir=S2C", "action=drop,dir=s2c"),
    ],
)
def test_a_rule_parses_and_prints_back(text: str, canonical: str) -> None:
    rule = parse_rule(text)
    assert str(rule) == canonical
    assert parse_rule(str(rule)) == rule


def test_the_fields_of_a_parsed_rule() -> None:
    rule = parse_rule("action=drop,cmd=NLN|FLN,role=NS,nth=3")
    assert rule == FaultRule(action=Action.DROP, cmds=frozenset({"NLN", "FLN"}), role="NS", nth=3)
    assert rule.selects("s2c", "NS", "FLN")
    assert not rule.selects("s2c", "SB", "NLN")
    assert not rule.selects("s2c", "NS", "MSG")
    assert parse_rule("action=drop,dir=c2s").selects("c2s", None, "ANY")
    assert not parse_rule("action=drop,dir=c2s").selects("s2c", None, "ANY")


def test_a_random_rule_without_a_seed_gets_one_and_shows_it() -> None:
    rule = parse_rule("action=drop,prob=0.25")
    assert rule.seed is not None
    assert str(rule) == f"action=drop,prob=0.25,seed={rule.seed}"
    assert parse_rule("action=delay,ms=5,jitter=2").seed is not None
    assert parse_rule("action=delay,ms=5").seed is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "(empty)"),
        ("action=drop,", "(empty)"),
        ("action=drop,cmd", "cmd"),
        ("=drop", "=drop"),
        ("cmd=MSG", "action"),
        ("action=explode", "action"),
        ("action=drop,colour=red", "colour"),
        ("action=drop,cmd=MSG,cmd=NLN", "cmd"),
        ("action=drop,cmd=MESSAGE", "cmd"),
        ("action=drop,cmd=MSG||NLN", "cmd"),
        ("action=drop,cmd=M G", "cmd"),
        ("action=drop,dir=up", "dir"),
        ("action=drop,role=XX", "role"),
        ("action=drop,nth=0", "nth"),
        ("action=drop,nth=two", "nth"),
        ("action=drop,every=-1", "every"),
        ("action=drop,nth=1,every=2", "every"),
        ("action=drop,prob=0", "prob"),
        ("action=drop,prob=1.5", "prob"),
        ("action=drop,prob=half", "prob"),
        ("action=drop,seed=1", "seed"),
        ("action=drop,prob=0.5,seed=x", "seed"),
        ("action=delay", "ms"),
        ("action=delay,ms=-1", "ms"),
        ("action=delay,ms=nan", "ms"),
        ("action=delay,ms=inf", "ms"),
        ("action=delay,ms=5,jitter=-1", "jitter"),
        ("action=drop,ms=5", "ms"),
        ("action=reset,bytes=5", "bytes"),
        ("action=rechunk", "bytes"),
        ("action=rechunk,bytes=0", "bytes"),
        ("action=rechunk,bytes=1.5", "bytes"),
        ("action=cut", "after"),
        ("action=cut,after=-1", "after"),
        ("action=stall,after=3", "after"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_key(text: str, key: str) -> None:
    with pytest.raises(FaultRuleError) as caught:
        parse_rule(text)
    assert caught.value.key == key
    assert f"{key}: " in str(caught.value)
    assert repr(text) in str(caught.value)  # the rule as given, to find it on a long line


def test_a_rule_made_in_code_is_checked_too() -> None:
    with pytest.raises(FaultRuleError, match=r"^fault rule: bytes: action=rechunk needs"):
        FaultRule(action=Action.RECHUNK)
    with pytest.raises(FaultRuleError, match="cmd: 'msg' is not a verb"):
        FaultRule(action=Action.DROP, cmds=frozenset({"msg"}))
