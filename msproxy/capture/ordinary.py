"""msproxy/capture/ordinary: which commands the capture writes in runs, and where runs split.

The definition of the capture's fast path, in Python (``_scan.c`` is its faster copy,
held byte-equal by the tests). An *ordinary* command is one whose framing depends on no
state: a CRLF-ended line of printable ASCII, shorter than the line limit, with a verb of
three letters A-Z, at most ``MAX_TOKENS`` tokens, not starting with a prefix the caller
names (``slow``: redirects, secrets, the direction's ``DIALECT_VERBS``), a TrID of at
most ``MAX_TRID_DIGITS`` digits, and for a payload command a byte count of at most
``MAX_COUNT_DIGITS`` digits, within the payload limit, with the whole payload at hand.

``scan_ordinary`` frames the ordinary commands from a position up to the first that is
not (the ``Framer`` frames that one): each such stretch of a chunk becomes one
``CommandRun``. ``stretches`` splits a run into consecutive commands that are all text
or all not (``binary_commands``): each becomes one ``run`` record, or the ``cmd`` record
of its command when it has only one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from msmgr.codec.framer import FastRules

from .records import CONTROL_MARKS

MAX_TOKENS = 64
"""Most tokens (verb included) on an ordinary line (``FRAME_MAX_TOKENS`` in ``_frame.h``)."""
MAX_TRID_DIGITS = 18
"""Most digits of an ordinary command's TrID."""
MAX_COUNT_DIGITS = 9
"""Most digits of an ordinary command's payload byte count."""

_LINE = re.compile(rb"[A-Z]{3}(?: [ -~]*)?").fullmatch
"""An ordinary line without its CRLF: a verb of three letters A-Z, printable ASCII."""


class OrdinaryRules:
    """The rules of one direction's ordinary commands, from ``fast_rules`` (the tables
    the C code frames by)."""

    __slots__ = ("max_line", "max_payload", "no_trid", "payload_verbs", "slow")

    def __init__(self, rules: FastRules) -> None:
        payload_verbs, no_trid, slow, self.max_line, self.max_payload = rules
        self.payload_verbs = _unpacked(payload_verbs)
        self.no_trid = _unpacked(no_trid)
        by_verb: dict[bytes, list[bytes]] = {}
        for prefix in slow:
            # (a prefix shorter than a verb never ends on a space of an ordinary line)
            if len(prefix) >= 3:
                by_verb.setdefault(prefix[:3], []).append(prefix)
        self.slow = {verb: tuple(prefixes) for verb, prefixes in by_verb.items()}
        """The ``slow`` line prefixes by their verb."""

    def is_slow(self, line: bytes) -> bool:
        """Whether ``line`` (no line end) starts with a ``slow`` prefix as whole tokens."""
        for prefix in self.slow.get(line[:3], ()):
            if line.startswith(prefix) and (len(line) == len(prefix) or line[len(prefix)] == 32):
                return True
        return False


def _unpacked(packed: bytes) -> frozenset[bytes]:
    return frozenset(packed[i : i + 3] for i in range(0, len(packed), 3))


def scan_ordinary(work: bytes, pos: int, rules: OrdinaryRules) -> tuple[int, list[int]]:
    """(where the ordinary commands at ``work[pos:]`` end, where each ends counted from
    ``pos``): framing stops at the first command that is not ordinary or not complete."""
    ends: list[int] = []
    size = len(work)
    find = work.find
    max_line = rules.max_line
    payload_verbs = rules.payload_verbs
    no_trid = rules.no_trid
    slow = rules.slow
    start = pos
    while pos < size:
        nl = find(b"\n", pos)
        if nl < 0 or not 4 <= nl - pos < max_line or work[nl - 1] != 13:
            break
        line = work[pos : nl - 1]
        if _LINE(line) is None:
            break
        tokens = line.split(b" ", MAX_TOKENS)
        if len(tokens) > MAX_TOKENS:
            break
        verb = tokens[0]
        if verb in slow and rules.is_slow(line):
            break
        stop = nl + 1
        last = len(tokens) - 1
        if last and verb in payload_verbs and tokens[last].isdigit():
            digits = tokens[last]
            if len(digits) > MAX_COUNT_DIGITS:
                break
            count = int(digits)
            if count > rules.max_payload or count > size - stop:
                break  # over the limit (the framer's error), or not all here yet
            stop += count
            last -= 1
        if (
            last
            and len(tokens[1]) > MAX_TRID_DIGITS
            and tokens[1].isdigit()
            and verb not in no_trid
        ):
            break
        ends.append(stop - start)
        pos = stop
    return pos, ends


def binary_commands(raw: bytes | memoryview, ends: Sequence[int]) -> list[int]:
    """The indexes of the commands of the run ``raw`` (ending at ``ends``) that are not
    text, in order: ``records.text_of``'s rule, for all the commands at once."""
    data = bytes(raw)
    marks = data.translate(CONTROL_MARKS)
    binary: list[int] = []
    pos = 0
    while (found := marks.find(0, pos)) >= 0:
        index = bisect_right(ends, found)
        binary.append(index)
        pos = ends[index]
    if data.isascii():
        return binary
    # The commands between those: valid UTF-8 as a whole, or the first invalid sequence
    # is in the command it starts in (each command starts with an ASCII letter).
    for first, stop in _between(binary, len(ends)):
        start = ends[first - 1] if first else 0
        while first < stop:
            try:
                str(data[start : ends[stop - 1]], "utf-8")
                break
            except UnicodeDecodeError as exc:
                first = bisect_right(ends, start + exc.start)
                binary.append(first)
                start = ends[first]
                first += 1
    return sorted(binary)


def _between(indexes: list[int], count: int) -> list[tuple[int, int]]:
    """The ranges of ``range(count)`` between the sorted ``indexes`` (first, stop)."""
    ranges = []
    first = 0
    for index in [*indexes, count]:
        if index > first:
            ranges.append((first, index))
        first = index + 1
    return ranges


class Stretch(NamedTuple):
    """Consecutive commands of a run that are all text or all not: one record."""

    text: bool
    start: int  # its first byte in the run
    stop: int  # the byte after its last command
    commands: int  # how many


def stretches(raw: bytes | memoryview, ends: Sequence[int]) -> list[Stretch]:
    """The stretches of the run ``raw`` whose commands end at ``ends``, in order:
    consecutive commands that are all text, or all not (``binary_commands``)."""
    binary = binary_commands(raw, ends)
    found: list[Stretch] = []
    first = 0  # the first command after the last binary one
    for index in [*binary, len(ends)]:
        if index > first:  # the text commands before this one
            found.append(_stretch(True, ends, first, index))
        if index < len(ends):
            last = found[-1] if found else None
            if last is not None and not last.text:  # (right after a binary one)
                found[-1] = last._replace(stop=ends[index], commands=last.commands + 1)
            else:
                found.append(_stretch(False, ends, index, index + 1))
        first = index + 1
    return found


def _stretch(text: bool, ends: Sequence[int], first: int, stop: int) -> Stretch:
    """The stretch of the commands ``first`` to ``stop`` (excluded)."""
    return Stretch(text, ends[first - 1] if first else 0, ends[stop - 1], stop - first)
