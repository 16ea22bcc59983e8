"""msproxy/faults/injector: the sans-IO core that applies fault rules to one connection.

Strategy: the driver hands the injector every chunk of bytes the proxy is about to
forward in one direction (``forward``) and executes the steps it returns (``Write``,
``Wait``, ``Applied``, ``Close``) in order, before forwarding anything more of that
direction, so a delayed command holds back the later ones (order is kept). The
injector frames those bytes with a tolerant framer of its own (the two directions
sharing one dialect, as the relay's do); a command's bytes are held until it is
complete, then every rule is tried on it, in the order given:

* a rule *selects* a command when ``dir``, ``role`` and ``cmd`` match it; its count
  (of the connection) then goes up, and it acts when ``nth``/``every`` and then ``prob``
  say so (one random draw per counted command, from the rule's ``seed``);
* ``delay`` adds a ``Wait`` before the command, ``drop`` leaves it out, ``reset`` closes
  both sides before it, ``stall`` drops it and everything after it in that direction,
  ``rechunk`` writes it in pieces, ``cut`` closes both sides once ``after`` more bytes
  of that direction (this command's first) went on. Several rules acting on one
  command combine in that way (the delays add up).

Bytes that are not a command (unparsed lines, bytes after framing was lost) are never
selected; they go on unchanged unless the direction is stalled or cut. Each action
taken is an ``Applied`` step carrying its ``fault`` capture record, whose ``offset``
counts the bytes of that direction handed to the injector before the command.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from msmgr.codec import Command, Dialect, Direction, Framer, Limits, Passthrough, Unparsed
from msproxy.capture.records import fault_record

from .rules import Action, FaultRule
from .steps import Applied, Close, Step, Wait, Write

__all__ = ["FaultInjector"]


@dataclass(slots=True)
class _RuleState:
    """One rule on one connection: how many commands it selected, its random draws."""

    rule: FaultRule
    number: int  # 1 for the first rule given
    count: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def acts(self) -> bool:
        """Count one more selected command; whether the rule acts on it."""
        self.count += 1
        rule = self.rule
        if rule.nth is not None and self.count != rule.nth:
            return False
        if rule.every is not None and self.count % rule.every:
            return False
        return rule.prob is None or self.rng.random() < rule.prob


@dataclass(slots=True)
class _Way:
    """One direction's state: its framer, the bytes seen, a stall or a cut under way."""

    framer: Framer
    name: str  # "c2s" or "s2c"
    offset: int = 0  # bytes handed in before the current command
    stalled: bool = False
    left: int | None = None  # bytes still to forward before a cut closes both sides
    cut: str = ""  # what the close record says of that cut


class FaultInjector:
    """Applies fault rules to the bytes one proxied connection forwards.

    Args:
        rules: the rules, in the order given (numbered from 1 in the records).
        conn: the connection's number (for the records).
        role: ``"DS"``, ``"NS"`` or ``"SB"``, as routed.
        limits: the proxy's line and payload limits (framing is lost past them, as in
            the relay: later bytes go on unselected).
        accelerate: the framers' C accelerator choice (``Framer(accelerate=...)``).
    """

    def __init__(
        self,
        rules: Sequence[FaultRule],
        *,
        conn: int,
        role: str | None,
        limits: Limits | None = None,
        accelerate: bool | None = None,
    ) -> None:
        self.conn = conn
        self.role = role
        self._closed = False
        dialect = Dialect()
        self._ways = {
            direction: _Way(
                Framer(
                    direction, strict=False, dialect=dialect, limits=limits, accelerate=accelerate
                ),
                direction.value,
            )
            for direction in Direction
        }
        self._rules = [
            _RuleState(rule, number, rng=random.Random(rule.seed))
            for number, rule in enumerate(rules, start=1)
        ]

    @property
    def closed(self) -> bool:
        """True once a ``Close`` step was given: nothing more goes on."""
        return self._closed

    def forward(self, direction: Direction, data: bytes, t: float) -> list[Step]:
        """The steps that forward ``data``, bytes going ``direction``, read at ``t``."""
        if self.closed:  # (the property: mypy would take ``_closed`` as False below)
            return []
        way = self._ways[direction]
        steps = _Steps()
        for event in way.framer.feed(data):
            if type(event) is Command:
                self._command(way, event, t, steps)
            elif isinstance(event, Unparsed | Passthrough):
                self._bytes(way, event.raw if isinstance(event, Unparsed) else event.data, steps)
            if self._closed:  # (a reset or a cut: the rest is not forwarded)
                break
        return steps.done()

    def finish(self, direction: Direction, t: float) -> list[Step]:
        """The steps that forward what is held of ``direction`` at its end of stream
        (the start of a command that will not be completed)."""
        if self.closed:
            return []
        way = self._ways[direction]
        steps = _Steps()
        for event in way.framer.close():
            if isinstance(event, Unparsed):
                self._bytes(way, event.raw, steps)
        return steps.done()

    # -- internals ------------------------------------------------------------------

    def _bytes(self, way: _Way, data: bytes, steps: _Steps) -> None:
        """Forward bytes that are not a command (unless stalled, or cut on the way)."""
        if not way.stalled:
            self._write(way, data, None, steps)
        way.offset += len(data)

    def _command(self, way: _Way, command: Command, t: float, steps: _Steps) -> None:
        raw = command.raw if command.raw is not None else command.to_bytes()
        if way.stalled:
            way.offset += len(raw)
            return
        delay = 0.0  # ms
        chunk: int | None = None
        dropped = False
        for state in self._rules:
            rule = state.rule
            if not rule.selects(way.name, self.role, command.verb) or not state.acts():
                continue
            extra: dict[str, float] = {}
            match rule.action:
                case Action.DELAY:
                    assert rule.ms is not None
                    spread = rule.jitter or 0.0
                    ms = rule.ms + (state.rng.uniform(-spread, spread) if spread else 0.0)
                    extra["ms"] = round(max(0.0, ms), 3)
                    delay += extra["ms"]
                case Action.DROP:
                    dropped = True
                case Action.STALL:
                    way.stalled = True
                case Action.RECHUNK:
                    assert rule.bytes is not None
                    chunk = rule.bytes if chunk is None else min(chunk, rule.bytes)
                    extra["bytes"] = rule.bytes
                case Action.CUT:
                    assert rule.after is not None
                    if way.left is not None:
                        continue  # a cut is under way already
                    way.left = rule.after
                    way.cut = (
                        f"fault: cut {way.name} after {rule.after} bytes (rule {state.number})"
                    )
                    extra["after"] = rule.after
            steps.add(self._applied(state, way, command.verb, len(raw), t, extra))
            if rule.action is Action.RESET:
                reason = f"fault: reset on {command.verb} {way.name} (rule {state.number})"
                steps.add(Close(reason))
                self._closed = True
                return
        if delay:
            steps.add(Wait(delay / 1000))
        if not (dropped or way.stalled):
            self._write(way, raw, chunk, steps)
        way.offset += len(raw)

    def _write(self, way: _Way, data: bytes, chunk: int | None, steps: _Steps) -> None:
        """Write ``data`` (in pieces of ``chunk``), up to where a cut closes both sides."""
        if way.left is not None and len(data) >= way.left:
            steps.write(data[: way.left], chunk)
            steps.add(Close(way.cut))
            self._closed = True
            return
        if way.left is not None:
            way.left -= len(data)
        steps.write(data, chunk)

    def _applied(
        self, state: _RuleState, way: _Way, verb: str, size: int, t: float, extra: dict[str, float]
    ) -> Applied:
        action = state.rule.action.value
        record = fault_record(
            self.conn,
            way.name,
            t,
            action=action,
            rule=state.number,
            cmd=verb,
            offset=way.offset,
            size=size,
            **extra,
        )
        detail = "".join(f" {key}={value:g}" for key, value in extra.items())
        message = f"fault {action}{detail} on {verb} {way.name} (rule {state.number}: {state.rule})"
        return Applied(record, message)


class _Steps:
    """The steps of one call: consecutive plain writes joined into one ``Write``
    (``rechunk``'s pieces stay apart)."""

    __slots__ = ("_pending", "steps")

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self._pending = bytearray()

    def write(self, data: bytes, chunk: int | None = None) -> None:
        if chunk is None or chunk >= len(data):
            self._pending += data
            return
        for start in range(0, len(data), chunk):
            self.add(Write(data[start : start + chunk]))

    def add(self, step: Step) -> None:
        if self._pending:
            self.steps.append(Write(bytes(self._pending)))
            self._pending.clear()
        self.steps.append(step)

    def done(self) -> list[Step]:
        if self._pending:
            self.steps.append(Write(bytes(self._pending)))
            self._pending.clear()
        return self.steps
