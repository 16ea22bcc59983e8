"""msproxy/faults/rules: a fault rule (``--fault RULE``), its checks and its parser.

A rule is a comma-separated list of ``key=value``: what to do (``action`` and its
parameters) and to which commands (the matching keys, all optional)::

    action=delay,ms=200,cmd=MSG,dir=s2c
    action=drop,cmd=NLN,role=NS,nth=3
    action=reset,cmd=XFR

Actions: ``delay`` (``ms``, optional ``jitter``), ``drop``, ``reset``, ``stall``,
``rechunk`` (``bytes``), ``cut`` (``after``). Matching keys: ``cmd`` (verbs or error
codes, ``|``-separated), ``dir`` (``c2s``/``s2c``), ``role`` (``DS``/``NS``/``SB``),
``nth`` (only the n-th matching command) or ``every`` (every n-th), ``prob`` with
``seed`` (a reproducible random choice; ``seed`` also draws ``jitter``). A rule that is
not one raises ``FaultRuleError`` naming the key. What each action does is the
injector's (``msproxy.faults.injector``).
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Action", "FaultRule", "FaultRuleError", "parse_rule"]

DIRECTIONS = ("c2s", "s2c")
ROLES = ("DS", "NS", "SB")


class Action(enum.Enum):
    """What a rule does to the commands it selects."""

    DELAY = "delay"  # hold each one ``ms`` (+- ``jitter``) ms; later ones wait behind it
    DROP = "drop"  # do not forward it
    RESET = "reset"  # close both sides before forwarding it
    STALL = "stall"  # forward nothing more of that direction; the connection stays open
    RECHUNK = "rechunk"  # forward it in writes of ``bytes`` bytes
    CUT = "cut"  # close both sides once ``after`` bytes of that direction went on


PARAMETERS: dict[Action, tuple[str, ...]] = {
    Action.DELAY: ("ms", "jitter"),
    Action.DROP: (),
    Action.RESET: (),
    Action.STALL: (),
    Action.RECHUNK: ("bytes",),
    Action.CUT: ("after",),
}
"""The parameters each action takes (the first of each, when any, is required)."""
REQUIRED = {action: names[0] for action, names in PARAMETERS.items() if names}
KEYS = (
    *("action", "cmd", "dir", "role", "nth", "every", "prob", "seed"),
    *("ms", "jitter", "bytes", "after"),
)
N = TypeVar("N", int, float)


class FaultRuleError(ValueError):
    """A fault rule that cannot be applied: ``key`` names the part that is wrong."""

    def __init__(self, key: str, message: str, rule: str | None = None) -> None:
        self.key = key
        self.rule = rule
        where = f"fault rule {rule!r}: " if rule is not None else "fault rule: "
        super().__init__(f"{where}{key}: {message}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultRule:
    """One ``--fault`` rule: an action, its parameters, and which commands it selects.

    Attributes:
        action: what to do.
        cmds: the verbs or error codes selected (empty: every command).
        dir: ``"c2s"`` or ``"s2c"`` (None: both).
        role: ``"DS"``, ``"NS"`` or ``"SB"`` (None: every connection).
        nth: only the n-th matching command of a connection and direction of travel
            counted together (None: every one).
        every: every n-th matching command (None: every one).
        prob: the chance that a matching command is selected (None: always).
        seed: the seed of the random choices (``prob``, ``jitter``): the same traffic
            gets the same faults. Left None with ``prob`` or ``jitter``, one is chosen
            when the rule is made, and ``str(rule)`` shows it.
        ms, jitter: ``delay``'s hold and its random spread, in milliseconds.
        bytes: ``rechunk``'s write size.
        after: ``cut``'s byte count.

    Raises:
        FaultRuleError: a value out of range, a parameter its action does not take,
            a required one missing, ``nth`` with ``every``, ``seed`` without a random choice.
    """

    action: Action
    cmds: frozenset[str] = frozenset()
    dir: str | None = None
    role: str | None = None
    nth: int | None = None
    every: int | None = None
    prob: float | None = None
    seed: int | None = None
    ms: float | None = None
    jitter: float | None = None
    bytes: int | None = None
    after: int | None = None
    text: str | None = field(default=None, compare=False)  # the rule as written

    def __post_init__(self) -> None:
        self._check_matching()
        self._check_parameters()
        if self.seed is None and (self.prob is not None or self.jitter):
            object.__setattr__(self, "seed", random.SystemRandom().randrange(1 << 32))

    def _fail(self, key: str, message: str) -> FaultRuleError:
        return FaultRuleError(key, message, self.text)

    def _check_matching(self) -> None:
        for verb in self.cmds:
            if not _is_verb(verb):
                raise self._fail("cmd", f"{verb!r} is not a verb (ABC) or an error code (911)")
        if self.dir is not None and self.dir not in DIRECTIONS:
            raise self._fail("dir", f"{self.dir!r} is not one of {', '.join(DIRECTIONS)}")
        if self.role is not None and self.role not in ROLES:
            raise self._fail("role", f"{self.role!r} is not one of {', '.join(ROLES)}")
        for key in ("nth", "every"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise self._fail(key, f"{value} is not a count from 1")
        if self.nth is not None and self.every is not None:
            raise self._fail("every", "nth and every cannot be used together")
        if self.prob is not None and not 0 < self.prob <= 1:
            raise self._fail("prob", f"{self.prob:g} is not a probability in (0, 1]")
        if self.seed is not None and self.prob is None and not self.jitter:
            raise self._fail("seed", "a seed needs a random choice: prob, or jitter")

    def _check_parameters(self) -> None:
        allowed = PARAMETERS[self.action]
        for key in ("ms", "jitter", "bytes", "after"):
            if getattr(self, key) is not None and key not in allowed:
                takes = ", ".join(allowed) if allowed else "no parameter"
                raise self._fail(key, f"action={self.action.value} takes {takes}")
        required = REQUIRED.get(self.action)
        if required is not None and getattr(self, required) is None:
            raise self._fail(required, f"action={self.action.value} needs {required}=N")
        for key, least in (("ms", 0), ("jitter", 0), ("bytes", 1), ("after", 0)):
            value = getattr(self, key)
            if value is not None and not (math.isfinite(value) and value >= least):
                raise self._fail(key, f"{value:g} is not a number >= {least}")

    def __str__(self) -> str:
        """The rule in the ``--fault`` grammar, with every key it has (the seed chosen)."""
        parts = [f"action={self.action.value}"]
        for key in ("ms", "jitter", "bytes", "after"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={value:g}")
        if self.cmds:
            parts.append("cmd=" + "|".join(sorted(self.cmds)))
        parts.extend(
            f"{key}={getattr(self, key)}"
            for key in ("dir", "role", "nth", "every")
            if getattr(self, key) is not None
        )
        if self.prob is not None:
            parts.append(f"prob={self.prob:g}")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return ",".join(parts)

    def selects(self, direction: str, role: str | None, verb: str) -> bool:
        """Whether a command of ``verb`` going ``direction`` on a ``role`` connection
        matches the rule's keys (before ``nth``, ``every`` and ``prob``)."""
        return (
            (self.dir is None or self.dir == direction)
            and (self.role is None or self.role == role)
            and (not self.cmds or verb in self.cmds)
        )


def parse_rule(text: str) -> FaultRule:
    """The ``FaultRule`` that ``text`` (``key=value,...``) states.

    Raises:
        FaultRuleError: an unknown, repeated or malformed key, or a value that does not
            fit (see ``FaultRule``); the message names the key.
    """
    values: dict[str, str] = {}
    for item in text.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or not key:
            raise FaultRuleError(key or item.strip() or "(empty)", "expected key=value", text)
        if key not in KEYS:
            raise FaultRuleError(key, f"unknown key (known: {', '.join(KEYS)})", text)
        if key in values:
            raise FaultRuleError(key, "given twice", text)
        values[key] = value
    if "action" not in values:
        raise FaultRuleError("action", "missing (one of " + _actions() + ")", text)
    try:
        action = Action(values["action"].lower())
    except ValueError:
        raise FaultRuleError(
            "action", f"{values['action']!r} is not one of {_actions()}", text
        ) from None
    return FaultRule(
        action=action,
        cmds=_verbs(values["cmd"], text) if "cmd" in values else frozenset(),
        dir=values["dir"].lower() if "dir" in values else None,
        role=values["role"].upper() if "role" in values else None,
        nth=_number(values, "nth", int, text),
        every=_number(values, "every", int, text),
        prob=_number(values, "prob", float, text),
        seed=_number(values, "seed", int, text),
        ms=_number(values, "ms", float, text),
        jitter=_number(values, "jitter", float, text),
        bytes=_number(values, "bytes", int, text),
        after=_number(values, "after", int, text),
        text=text,
    )


def _is_verb(token: str) -> bool:
    """Three capital ASCII letters (``MSG``) or three digits (``911``)."""
    return (
        len(token) == 3
        and token.isascii()
        and (token.isalpha() or token.isdigit())
        and (token.isupper() or token.isdigit())
    )


def _actions() -> str:
    return ", ".join(action.value for action in Action)


def _verbs(value: str, text: str) -> frozenset[str]:
    verbs = [verb.strip().upper() for verb in value.split("|")]
    if not all(verbs):
        raise FaultRuleError("cmd", f"{value!r}: an empty verb", text)
    return frozenset(verbs)


def _number(values: dict[str, str], key: str, kind: type[N], text: str) -> N | None:
    what = {int: "a whole number", float: "a number"}[kind]
    if key not in values:
        return None
    try:
        return kind(values[key])
    except ValueError:
        raise FaultRuleError(key, f"{values[key]!r} is not {what}", text) from None
