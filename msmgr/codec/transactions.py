"""msmgr/codec/transactions: TrIDs without IO: allocating them, matching replies, renumbering.

An MSNP request carries a transaction id (TrID) and its reply repeats it; a numeric
error (``217 5``) is the reply too. ``Transactions`` is that rule for one connection:
``expect(request)`` gives the request a TrID and a ``Pending`` token, ``reply(command)``
returns the token a received command answers (or None). Waiting, and giving up after a
timeout, is the caller's business (the trio client waits on an event; a test just looks).
``TridMap`` renumbers TrIDs between a recorded session and a live one (the replay).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .command import Command


class TridCounter:
    """A TrID counter: ``next()`` returns 1, 2, 3, ... (one per session in the client)."""

    __slots__ = ("last",)

    def __init__(self, start: int = 0) -> None:
        self.last = start

    def next(self) -> int:
        """The next TrID (pre-incremented, so the first is 1)."""
        self.last += 1
        return self.last


@dataclass(slots=True, eq=False)
class Pending:
    """A request waiting for its reply: what was sent, what answers it, and the answer.

    Attributes:
        request: the request, its ``trid`` set.
        accept: the verbs that count as its reply (its own verb and any given to
            ``expect``); a numeric error with its TrID always does.
        reply: the reply once ``Transactions.reply`` matched one, else None.
    """

    request: Command
    accept: frozenset[str]
    reply: Command | None = field(default=None)

    @property
    def trid(self) -> int:
        """The request's TrID."""
        assert self.request.trid is not None
        return self.request.trid

    @property
    def done(self) -> bool:
        """True once a reply was matched."""
        return self.reply is not None

    @property
    def failed(self) -> bool:
        """True when the reply is a numeric error."""
        return self.reply is not None and self.reply.is_error


class Transactions:
    """The open requests of one connection, by TrID.

    Args:
        counter: where TrIDs come from; share one between connections to keep TrIDs
            unique across them (as a client session does), or leave None for a counter
            of this connection's own.
    """

    def __init__(self, counter: TridCounter | None = None) -> None:
        self.counter = counter if counter is not None else TridCounter()
        self._open: dict[int, Pending] = {}

    def next_trid(self) -> int:
        """A new TrID from the counter."""
        return self.counter.next()

    def expect(self, request: Command, accept: Iterable[str] = ()) -> Pending:
        """Register ``request`` as awaiting a reply; give it a TrID if it has none.

        Args:
            request: the request about to be sent (its ``trid`` is set here if None).
            accept: verbs besides the request's own that count as its reply (``ACK``
                and ``NAK`` for ``MSG``, ``XFR`` for ``USR``); other commands with the
                same TrID (``IRO`` before ``ANS``) are not replies.

        Raises:
            ValueError: a request with that TrID is already awaiting its reply.
        """
        if request.trid is None:
            request.trid = self.next_trid()
        if request.trid in self._open:
            raise ValueError(f"TrID {request.trid} is already awaiting a reply")
        pending = Pending(request, frozenset({request.verb, *accept}))
        self._open[request.trid] = pending
        return pending

    def reply(self, command: Command) -> Pending | None:
        """The pending request ``command`` answers, now done and forgotten; else None."""
        if command.trid is None:
            return None
        pending = self._open.get(command.trid)
        if pending is None or not (command.is_error or command.verb in pending.accept):
            return None
        del self._open[command.trid]
        pending.reply = command
        return pending

    def forget(self, pending: Pending) -> None:
        """Stop waiting for ``pending``'s reply (given up, or the request was not sent)."""
        if self._open.get(pending.trid) is pending:
            del self._open[pending.trid]

    def abandon(self) -> list[Pending]:
        """Forget every open request (the connection closed); returns them."""
        left = list(self._open.values())
        self._open.clear()
        return left

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, trid: object) -> bool:
        return trid in self._open

    def __iter__(self) -> Iterator[Pending]:
        return iter(list(self._open.values()))


class TridMap:
    """TrIDs of a recorded session mapped to those of a live one, and back into commands.

    ``learn`` notes a pairing seen on the wire (a live client's TrID for a recorded
    request); ``assign`` numbers a recorded TrID anew from ``counter`` (1, 2, 3, ... by
    default) the first time it is seen; ``remap`` rewrites a command's TrID.
    """

    def __init__(self, counter: TridCounter | None = None) -> None:
        self.counter = counter if counter is not None else TridCounter()
        self._live: dict[int, int] = {}

    def learn(self, recorded: int | None, live: int | None) -> None:
        """Recorded TrID ``recorded`` stands for ``live`` from now on (both needed)."""
        if recorded is not None and live is not None:
            self._live[recorded] = live

    def assign(self, recorded: int | None) -> None:
        """Give ``recorded`` a new live TrID, unless it has one already."""
        if recorded is not None and recorded not in self._live:
            self._live[recorded] = self.counter.next()

    def get(self, recorded: int) -> int | None:
        """The live TrID of ``recorded``, if known."""
        return self._live.get(recorded)

    def remap(self, command: Command) -> Command:
        """``command`` with its recorded TrID replaced by the live one (itself if unchanged).

        An unchanged command keeps its ``raw`` bytes; a renumbered one serialises anew.
        """
        live = self._live.get(command.trid) if command.trid is not None else None
        if live is None or live == command.trid:
            return command
        return command.with_trid(live)
