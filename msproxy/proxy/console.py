"""msproxy/proxy/console: the live console's lines, made off the relay's path.

A session hands the console what it would have logged (``Log``, and ``LogRun`` for a run
of ordinary commands framed on the fast path) with ``offer``: an append to a bounded
buffer, nothing parsed or formatted. The console's task, in the proxy's nursery, turns
them into log records on the ``msmgr.debug.*`` loggers (which ``msproxy run`` writes in
``msproxy show``'s format), taking at most ``SHARE`` of the event loop's time in slices
of ``SLICE``. What it has no time for, what arrives while the buffer is full and what
arrives while the output is still writing earlier lines (``busy``, a slow terminal or
pipe) is counted, not shown, and said once per ``SKIP_INTERVAL``::

    ... 12,345 commands not shown (SB#3 12,001: MSG; NS#1 344: NLN): see the capture

Warnings are never skipped. The capture is complete whatever the console shows.
"""

from __future__ import annotations

import logging
import time
from array import array
from collections import deque
from collections.abc import Callable
from time import perf_counter

import trio

from msmgr.codec import Command, Framer
from msmgr.debug import NOTIFICATION_VERBS, Debug, flag_logger
from msproxy.view.console import ARROWS, command_text
from msproxy.view.subject import Subject

from .commands import Log, LogRun

SHARE = 0.25
"""The most of the event loop's time the console takes: after a slice of rendering it
pauses three times as long, so the relay keeps at least three quarters of the loop."""
SLICE = 0.01
"""Seconds of rendering at one go, at most (then a pause: see ``SHARE``)."""
STEP = 0.0002
"""Seconds of rendering between two checkpoints within a slice, where the relay's tasks
run: a command that arrives meanwhile waits about that long at most."""
MIN_PAUSE = 0.01
"""Seconds the console waits at least between two slices (lines come in batches)."""
SKIP_INTERVAL = 1.0
"""Seconds between two lines saying what was not shown."""
MAX_QUEUED = 50_000
"""Commands waiting for the console at most; more are counted, not kept."""
MAX_QUEUED_BYTES = 16 * 1024 * 1024
"""Bytes of runs waiting for the console at most (a run keeps its chunk alive)."""
FLUSH_TIME = 0.25
"""Seconds the console renders what is left when the proxy stops; the rest is counted."""
_PIECE = 64  # commands of a run parsed at once between two looks at the clock
_SAMPLE = 4  # commands of a skipped run whose verbs are read (counting is exact)

Item = tuple[float, Log | LogRun]
Filter = Callable[[Subject], bool]


class Skipped:
    """What the console did not show since it last said so: commands per connection
    name and their verbs (a skipped run's verbs are sampled, its count is exact)."""

    __slots__ = ("commands", "flag", "lines", "per_name")

    def __init__(self) -> None:
        self.commands = 0
        self.lines = 0  # connection events (open, close, rewrite)
        self.flag = Debug.COMMAND_RECV  # the logger the summary goes to
        self.per_name: dict[str, tuple[int, dict[str, int]]] = {}

    def __bool__(self) -> bool:
        return bool(self.commands or self.lines)

    def add(self, item: Log | LogRun) -> None:
        """Count ``item`` as not shown."""
        if type(item) is LogRun:
            run = item.run
            self.tally(item.name, run.count, _verbs(run.raw, run.data, _SAMPLE), run.count)
            self.flag = item.flag
            return
        assert type(item) is Log
        subject = item.subject
        if subject is None or subject.command is None:
            self.lines += 1
            return
        self.tally(str(item.args[0]), 1, [subject.command.verb], 1)
        self.flag = item.flag

    def tally(self, name: str, count: int, verbs: list[str], weight: int) -> None:
        """Count ``count`` commands of ``name`` not shown, ``verbs`` among them."""
        self.commands += count
        total, seen = self.per_name.get(name, (0, {}))
        share = max(1, weight // max(1, len(verbs)))
        for verb in verbs:
            seen[verb] = seen.get(verb, 0) + share
        self.per_name[name] = (total + count, seen)

    def text(self) -> str:
        """``12,345 commands not shown (SB#3 12,001: MSG; NS#1 344: NLN)``."""
        parts = []
        by_count = sorted(self.per_name.items(), key=lambda kv: -kv[1][0])
        for name, (count, seen) in by_count[:4]:
            verbs = sorted(seen, key=lambda verb: -seen[verb])[:3]
            parts.append(f"{name} {count:,}: {', '.join(verbs)}")
        if len(by_count) > 4:
            parts.append(f"{len(by_count) - 4} more connections")
        what = f"{self.commands:,} commands" if self.commands else ""
        if self.lines:
            other = f"{self.lines:,} connection lines"
            what = f"{what} and {other}" if what else other
        return f"... {what} not shown ({'; '.join(parts)}): see the capture"


def _end(ends: bytes, index: int) -> int:
    """Where the ``index``-th command of a run ends (``ends``: native uint32 values)."""
    return int(array("I", ends[4 * index : 4 * index + 4])[0])


def _verbs(raw: memoryview, ends: bytes, most: int) -> list[str]:
    """The verbs of the first ``most`` commands of a run (``ends``: where each ends)."""
    offsets = array("I", ends[: 4 * most]) if ends else array("I")
    verbs, start = [], 0
    for end in offsets:
        verbs.append(bytes(raw[start : min(end, start + 3)]).decode("ascii", "replace"))
        start = end
    return verbs or ["?"]


def show_log(log: Log, shows: Filter | None, created: float | None = None) -> None:
    """Log ``log`` on its flag's logger now, unless ``shows`` hides its subject;
    ``created``: when it happened (the record's time), when not now."""
    if shows is not None and log.subject is not None and not shows(log.subject):
        return
    logger = flag_logger(log.flag)
    if not logger.isEnabledFor(log.level):
        return
    record = logger.makeRecord(logger.name, log.level, __file__, 0, log.msg, log.args, None)
    if created is not None:
        record.created = created
    logger.handle(record)


class Console:
    """The live console of a proxy: what sessions offer, shown as the loop has time."""

    def __init__(
        self,
        *,
        shows: Filter | None = None,
        busy: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.time,
        share: float = SHARE,
        skip_interval: float = SKIP_INTERVAL,
    ) -> None:
        self.shows = shows
        self.skip_interval = skip_interval
        self.busy = busy
        self.clock = clock
        self.share = share
        self.skipped = Skipped()
        self.shown = 0  # commands shown (for tests and the summary)
        self._queue: deque[Item] = deque()
        self._queued = 0  # commands in the queue
        self._queued_bytes = 0
        self._wake = trio.Event()
        self._said = 0.0  # perf_counter when the last summary was said
        self._done = 0  # commands of the first queued run already shown

    def offer(self, item: Log | LogRun) -> None:
        """Take ``item`` to show (cheap: on the relay's path); warnings always go in."""
        if type(item) is LogRun:
            count, size = item.run.count, len(item.run.raw)
        else:
            count, size = 1, 0
        if (
            self._queued + count > MAX_QUEUED or self._queued_bytes + size > MAX_QUEUED_BYTES
        ) and not _is_warning(item):
            self.skipped.add(item)
        else:
            self._queue.append((self.clock(), item))
            self._queued += count
            self._queued_bytes += size
        self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Show what is offered until cancelled (then ``flush``)."""
        task_status.started()
        pause_per_second = (1.0 - self.share) / self.share
        try:
            while True:
                if self.skipped:  # said within the interval even when nothing more comes
                    with trio.move_on_after(self.skip_interval):
                        await self._wake.wait()
                else:
                    await self._wake.wait()
                self._wake = trio.Event()
                began = perf_counter()
                await self._slice(began + SLICE)
                spent = perf_counter() - began
                await trio.sleep(max(MIN_PAUSE, spent * pause_per_second))
        finally:
            self.flush()

    async def _slice(self, deadline: float) -> None:
        """One slice: show what is queued until ``deadline``, letting the relay's tasks
        run every ``STEP`` (a line never waits long on a command's path); count the rest."""
        deadline = self._until(deadline)
        while not self._work(min(deadline, perf_counter() + STEP)):
            if perf_counter() >= deadline:
                break
            await trio.lowlevel.checkpoint()
        self._skip_rest()
        self._say_skipped()

    def show(self, deadline: float) -> None:
        """Show what is queued until ``deadline`` (``perf_counter``); count the rest."""
        self._work(self._until(deadline))
        self._skip_rest()
        self._say_skipped()

    def flush(self) -> None:
        """Show what is left (the proxy is stopping), for at most ``FLUSH_TIME``."""
        self.show(perf_counter() + FLUSH_TIME)
        self._say_skipped(force=True)

    def _until(self, deadline: float) -> float:
        """``deadline``, or none at all while the output is still writing earlier lines
        (warnings only, then)."""
        return 0.0 if self.busy is not None and self.busy() else deadline

    def _work(self, until: float) -> bool:
        """Show queued items until ``until`` (``perf_counter``); True once none is left."""
        queue = self._queue
        while queue:
            if perf_counter() >= until:
                return False
            t, item = queue[0]
            if type(item) is LogRun:
                self._done = self._show_run(t, item, until, self._done)
                if self._done < item.run.count:
                    return False  # (the rest of the run in the next step)
                self._done = 0
                self._queued -= item.run.count
                self._queued_bytes -= len(item.run.raw)
            else:
                assert type(item) is Log
                show_log(item, self.shows, t)
                if item.subject is not None and item.subject.command is not None:
                    self.shown += 1
                self._queued -= 1
            queue.popleft()
        return True

    def _skip_rest(self) -> None:
        """Count what is still queued as not shown (warnings are shown all the same)."""
        queue, skipped = self._queue, self.skipped
        while queue:
            t, item = queue.popleft()
            if type(item) is Log and item.level >= logging.WARNING:
                show_log(item, None, t)
            elif type(item) is LogRun and self._done:
                run, done = item.run, self._done
                start = _end(run.data, done - 1)
                left = run.count - done
                verbs = _verbs(run.raw[start:], run.data[4 * done :], _SAMPLE)
                skipped.tally(item.name, left, verbs, left)
                skipped.flag = item.flag
            else:
                skipped.add(item)
            self._done = 0
        self._queued = self._queued_bytes = 0

    def _show_run(self, t: float, item: LogRun, until: float, done: int) -> int:
        """The lines of a run's commands from its ``done``-th, parsed again a piece at a
        time until ``until``; how many of its commands are done."""
        run, shows = item.run, self.shows
        logger = flag_logger(item.flag)
        if not logger.isEnabledFor(logging.DEBUG):
            return run.count
        ends = array("I", run.data)
        name, arrow, direction = item.name, ARROWS[item.direction.value], item.direction.value
        framer = Framer(item.direction, strict=False, dialect=item.dialect)
        while done < run.count:
            if perf_counter() >= until:
                return done
            stop = min(run.count, done + _PIECE)
            first = ends[done - 1] if done else 0
            for event in framer.feed(bytes(run.raw[first : ends[stop - 1]])):
                if type(event) is not Command:
                    continue
                if item.notifications_only and event.verb not in NOTIFICATION_VERBS:
                    continue
                if shows is not None and not shows(
                    Subject.of_command(item.conn, direction, event, item.role)
                ):
                    continue
                record = logger.makeRecord(
                    logger.name,
                    logging.DEBUG,
                    __file__,
                    0,
                    "%s %s %s",
                    (name, arrow, command_text(event)),
                    None,
                )
                record.created = t
                logger.handle(record)
                self.shown += 1
            done = stop
        return done

    def _say_skipped(self, *, force: bool = False) -> None:
        """Say what was not shown, once per ``skip_interval`` (``force``: now)."""
        skipped = self.skipped
        if not skipped:
            return
        now = perf_counter()
        if not force and now - self._said < self.skip_interval:
            return
        self._said = now
        logger = flag_logger(skipped.flag)
        logger.debug("%s %s", "", skipped.text())
        self.skipped = Skipped()


def _is_warning(item: Log | LogRun) -> bool:
    return type(item) is Log and item.level >= logging.WARNING
