"""msproxy/web/store: the captures a web view shows, followed as they grow, and the
browsers told of each change through a bounded queue each.

A browser that does not take its messages fast enough gets its queue emptied and one
``reset`` message instead (it then asks for everything again): what the store holds for
a browser is bounded, and nothing the store does ever waits for one.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict, deque
from dataclasses import dataclass

import trio

from msproxy.capture import CaptureFormatError, Record
from msproxy.inspect.model import Capture
from msproxy.view import filterlang

from .filtering import compile_filter
from .follow import CaptureFollower
from .model import LadderView, SessionIndex, WebSession

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 64
"""Messages waiting for one browser at most; one more and it gets a reset."""
VIEWS_KEPT = 4
"""Ladder views (a session under a filter, with folds opened) kept built."""
POLL_INTERVAL = 0.25
"""Seconds between two looks at a followed capture file."""

Message = dict[str, object]


class Subscriber:
    """One browser's queue of messages, bounded: it overflows into a reset."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.limit = limit
        self.resets = 0
        self._queue: deque[Message] = deque()
        self._reset = False
        self._wakeup = trio.Event()

    def push(self, message: Message) -> None:
        """Queue a message (never waits); past the limit, replace them all by a reset."""
        if self._reset:
            return
        if len(self._queue) >= self.limit:
            self._queue.clear()
            self._reset = True
            self.resets += 1
        else:
            self._queue.append(message)
        self._wakeup.set()

    async def get(self) -> list[Message]:
        """Wait for messages; all that are queued (or one reset)."""
        await self._wakeup.wait()
        self._wakeup = trio.Event()
        if self._reset:
            self._reset = False
            return [{"type": "reset"}]
        messages = list(self._queue)
        self._queue.clear()
        return messages


@dataclass(slots=True)
class Followed:
    """One capture of the store: its records so far, its sessions, and its file."""

    capture: Capture
    index: SessionIndex
    follower: CaptureFollower | None = None
    problem: str | None = None


class WebStore:
    """The captures shown, their sessions and ladder views, and the browsers listening."""

    def __init__(self, *, redact: bool = True) -> None:
        self.redact = redact
        self.captures: list[Followed] = []
        self.subscribers: set[Subscriber] = set()
        self._views: OrderedDict[tuple[str, str, frozenset[int]], LadderView] = OrderedDict()

    def follow(self, path: str | os.PathLike[str]) -> Followed:
        """Add the capture file at ``path`` (read by ``poll``)."""
        follower = CaptureFollower(path, redact=self.redact)
        capture = Capture({}, [], {}, follower.path)
        followed = Followed(capture, SessionIndex(capture, f"{len(self.captures)}-"), follower)
        self.captures.append(followed)
        return followed

    def add_records(self, followed: Followed, records: list[Record]) -> set[str]:
        """Append records to a capture (the header first); the sessions they changed."""
        for record in records:
            if not followed.capture.header:
                followed.capture.header = record
            else:
                followed.capture.append(record)
        return followed.index.update()

    def poll(self) -> set[str]:
        """Read what each followed file got since the last poll; tell the browsers (of a
        file that stopped being readable too). The sessions that changed."""
        changed: set[str] = set()
        troubled = False
        for followed in self.captures:
            if followed.follower is None or followed.problem is not None:
                continue
            try:
                records = followed.follower.read()
            except (OSError, CaptureFormatError) as exc:
                followed.problem = str(exc)
                logger.warning("web view: %s: %s", followed.capture.source, exc)
                troubled = True
                continue
            if records:
                changed |= self.add_records(followed, records)
        if changed or troubled:
            self.publish({"type": "update", "sessions": sorted(changed)})
        return changed

    async def follow_forever(self, interval: float = POLL_INTERVAL) -> None:
        """Poll the followed files every ``interval`` seconds, until cancelled."""
        while True:
            while self.poll():  # a big file: a read at a time, letting others run
                await trio.lowlevel.checkpoint()
            await trio.sleep(interval)

    def subscribe(self) -> Subscriber:
        """A new browser's queue."""
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a browser's queue."""
        self.subscribers.discard(subscriber)

    def publish(self, message: Message) -> None:
        """Queue ``message`` for every browser (never waits)."""
        for subscriber in self.subscribers:
            subscriber.push(message)

    def sessions(self) -> list[tuple[Capture, WebSession]]:
        """Every session of every capture, in order."""
        return [
            (followed.capture, session)
            for followed in self.captures
            for session in followed.index.sessions.values()
        ]

    def find(self, key: str) -> tuple[Capture, WebSession] | None:
        """The session called ``key`` and its capture, or None."""
        for followed in self.captures:
            session = followed.index.sessions.get(key)
            if session is not None:
                return followed.capture, session
        return None

    def view(
        self, capture: Capture, session: WebSession, text: str, opened: frozenset[int]
    ) -> LadderView:
        """The session's ladder under filter ``text`` with folds ``opened``, up to date.

        Raises:
            ValueError: ``text`` is not a filter.
        """
        key = (session.key, text.strip(), opened)
        view = self._views.get(key)
        if view is None:
            keep = compile_filter(text)
            if isinstance(keep, filterlang.Filter) and keep.uses_sessions():
                # as show does from a file: ``handle`` also selects what was said before
                # the login (the session's records so far; later ones arrive in order)
                keep.prime(capture.records[index] for index in session.items)
            view = LadderView(keep, opened)
            self._views[key] = view
            while len(self._views) > VIEWS_KEPT:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(key)
        view.extend(capture.records, session.items)
        return view
