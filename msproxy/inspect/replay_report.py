"""msproxy/inspect/replay_report: what a replay found, and the words for a difference.

``ReplayReport`` counts the steps, matched and sent commands of one replayed connection
and lists every ``ReplayIssue``; ``explain`` says which fields of two commands differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from msmgr.codec import Command

from .normalize import DEFAULT_IGNORE, Normalized
from .payload_diff import payload_diff


@dataclass(frozen=True, slots=True)
class ReplayIssue:
    """One difference between the recording and the live peer.

    ``kind`` is ``"mismatch"`` (a command differs), ``"missing"`` (an expected command
    never came), ``"unexpected"`` (a command the recording does not have),
    ``"closed"`` (the peer closed the connection early), ``"error"`` (the server
    answered the step's request with an error the recording does not have: the replay
    stopped there) or ``"login"`` (the login answer could not be computed live: the
    replay stopped there).
    """

    kind: str
    step: int
    expected: str | None
    got: str | None
    detail: str = ""

    def __str__(self) -> str:
        parts = [f"step {self.step}: {self.kind}"]
        if self.expected is not None:
            parts.append(f"expected {self.expected!r}")
        if self.got is not None:
            parts.append(f"got {self.got!r}")
        text = ", ".join(parts)
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(slots=True)
class ReplayReport:
    """What a replay did: the connection, commands matched and sent, every difference."""

    conn: int
    steps: int = 0
    matched: int = 0
    sent: int = 0
    issues: list[ReplayIssue] = field(default_factory=list)
    name: str | None = None  # the recorded connection's name (DS#1, SB#5...), if shown

    @property
    def ok(self) -> bool:
        """Whether the replay went as recorded: no issues."""
        return not self.issues

    def format(self) -> str:
        """A human-readable account, one issue per line."""
        label = f"connection {self.conn}" + (f" ({self.name})" if self.name else "")
        head = (
            f"{label}: {self.steps} steps, {self.matched} commands matched, "
            f"{self.sent} sent, {len(self.issues)} difference(s)"
        )
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)]) + "\n"


def explain(
    expected: Normalized,
    got: Normalized,
    commands: tuple[Command, Command] | None = None,
    rules: Iterable[str] = DEFAULT_IGNORE,
) -> str:
    """Which fields of two normalised commands differ, in words.

    With the original ``commands`` (expected, got), a differing text payload is told by
    its changed lines.
    """
    if expected.verb != got.verb:
        return f"verb {got.verb} instead of {expected.verb}"
    notes = []
    if expected.trid != got.trid:
        notes.append(f"TrID {got.trid} instead of {expected.trid}")
    if len(expected.args) != len(got.args):
        notes.append(f"{len(got.args)} arguments instead of {len(expected.args)}")
    else:
        for index, (want, have) in enumerate(zip(expected.args, got.args, strict=True)):
            if want != have:
                notes.append(f"argument {index + 1} is {have!r}, not {want!r}")
    if expected.payload != got.payload:
        note = f"payload [{got.payload}] instead of [{expected.payload}]"
        if commands is not None:
            old, new = commands[0].payload, commands[1].payload
            lines = payload_diff(old, new, rules, 0) if old and new else None
            changed = [line for line in lines or () if line[:1] in "-+"]
            if changed:
                note = "payload lines " + " ".join(repr(line) for line in changed)
        notes.append(note)
    return "; ".join(notes) or "differs"


def mismatch(
    step: int,
    expected: Command,
    got: Command,
    want: Normalized,
    have: Normalized,
    rules: frozenset[str],
) -> ReplayIssue:
    """A ``mismatch`` issue: ``got`` (normalised ``have``) came for ``expected`` (``want``)."""
    return ReplayIssue(
        "mismatch", step, str(expected), str(got), explain(want, have, (expected, got), rules)
    )
