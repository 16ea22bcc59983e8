"""msproxy/faults/steps: what a ``FaultInjector`` asks its driver to do, in order."""

from __future__ import annotations

from dataclasses import dataclass

from msproxy.capture import Record


@dataclass(frozen=True, slots=True)
class Write:
    """Send these bytes on (one write each: ``rechunk``'s pieces stay apart)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Wait:
    """Hold the direction this long before the next step (``delay``)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Applied:
    """A rule acted: write its ``fault`` record to the capture and show ``message``."""

    record: Record
    message: str


@dataclass(frozen=True, slots=True)
class Close:
    """Close both sides now (``reset``, ``cut``); always the last step."""

    reason: str


Step = Write | Wait | Applied | Close
