"""msproxy/interchange/reassembly: one direction of a TCP connection, from captured
segments back to its byte stream. Sans-IO: segments in, outcomes out.

Strategy:

* Offsets, not sequence numbers: offset 0 is the byte after the SYN (or, when the SYN
  was not captured, the first byte seen). A sequence number becomes the offset nearest
  the next expected one, so wrapping at 2**32 needs no special case.
* First copy wins. Bytes before the next expected offset were delivered already: they
  are compared with the last ``window`` bytes delivered, and a difference is a
  ``Conflict``. A segment overlapping one held out of order is cut to the bytes nobody
  holds, again comparing the overlap.
* Out-of-order segments are held until the hole before them fills. A hole becomes a
  ``Gap`` (those bytes never reached the capture) when the peer acknowledges data past
  it, or its FIN (it had them: no retransmission will come), when the stream is reset or
  the file ends, or when more than ``max_held`` bytes wait behind it (bounded memory).
* FIN: the stream ends once every byte before it was delivered (or declared a gap; a
  hole before a FIN may still be filled by a late retransmission until the peer
  acknowledges the FIN). RST ends it at once, holes before the highest byte seen
  becoming gaps.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from .segments import Conflict, Delivered, Ended, Gap, Outcome, Segment

_MOD = 1 << 32
_HALF = 1 << 31

MAX_HELD = 1 << 20
"""Bytes held out of order, per direction, before the hole in front of them is a gap."""
WINDOW = 1 << 16
"""Bytes delivered last, kept to compare retransmissions with."""


class Reassembler:
    """One direction of one TCP connection, put back in order.

    Args:
        max_held: bytes held out of order before the hole before them is declared a gap.
        window: bytes delivered last that retransmissions are compared with (older ones
            are dropped uncompared).
    """

    def __init__(self, *, max_held: int = MAX_HELD, window: int = WINDOW) -> None:
        self.max_held = max_held
        self.window = window
        self._base: int | None = None  # the sequence number of offset 0
        self._next = 0  # the offset of the next byte to deliver
        self._held: dict[int, tuple[float, bytes]] = {}  # offset -> (t, bytes), disjoint
        self._starts: list[int] = []  # the keys of _held, sorted
        self._held_bytes = 0
        self._recent = bytearray()  # the last bytes delivered, ending at _next
        self._fin: int | None = None  # the offset of the FIN
        self._fin_t = 0.0  # when the FIN was read
        self.ended = False

    @property
    def started(self) -> bool:
        """Whether the stream's start is known (a SYN, or a first segment)."""
        return self._base is not None

    @property
    def delivered(self) -> int:
        """How many bytes were delivered or declared gaps: the next offset expected."""
        return self._next

    @property
    def held(self) -> int:
        """Bytes held out of order."""
        return self._held_bytes

    def segment(self, segment: Segment) -> list[Outcome]:
        """Take one captured segment of this direction; what it completes, in order."""
        if self.ended:
            return []
        seq = segment.seq
        if segment.syn:
            if self._base is None:
                self._base = (seq + 1) % _MOD
            seq = (seq + 1) % _MOD  # data on a SYN follows it
        elif self._base is None:
            if not segment.data and not segment.fin:
                return []  # a bare ACK or RST says nothing of where the stream starts
            self._base = seq
        out: list[Outcome] = []
        offset = self._offset(seq)
        if segment.data:
            self._add(offset, segment.data, segment.t, out)
        if segment.fin and self._fin is None:
            self._fin = offset + len(segment.data)
            self._fin_t = segment.t
        if segment.rst:
            self._fill_holes(None, segment.t, out)
            out.append(Ended(segment.t, True))
            self._end()
            return out
        if self._held_bytes > self.max_held:
            self._fill_holes(self._starts[0] + 1, segment.t, out)
        self._finish(segment.t, out)
        return out

    def acked(self, ack: int, t: float) -> list[Outcome]:
        """The peer acknowledged sequence number ``ack``: holes before it are gaps."""
        if self.ended or self._base is None:
            return []
        offset = self._offset(ack)
        fin = self._fin
        acks_fin = fin is not None and offset > fin
        if not acks_fin and (not self._starts or offset <= self._starts[0]):
            return []
        out: list[Outcome] = []
        self._fill_holes(None if acks_fin else offset, t, out)
        self._finish(t, out)
        return out

    def flush(self, t: float) -> list[Outcome]:
        """The capture ended: every hole becomes a gap and what was held is delivered
        (the stream does not end: no ``Ended`` unless its FIN was seen)."""
        if self.ended:
            return []
        out: list[Outcome] = []
        self._fill_holes(None, t, out)
        self._finish(t, out)
        return out

    # -- internals -------------------------------------------------------------

    def _offset(self, seq: int) -> int:
        assert self._base is not None
        distance = (seq - self._base) % _MOD
        return self._next + (distance - self._next + _HALF) % _MOD - _HALF

    def _add(self, offset: int, data: bytes, t: float, out: list[Outcome]) -> None:
        end = offset + len(data)
        if self._fin is not None and end > self._fin:
            end = self._fin  # nothing after the FIN belongs to the stream
            data = data[: max(0, end - offset)]
        if offset < self._next:  # (partly) seen already
            self._compare_delivered(offset, data[: self._next - offset], t, out)
            data = data[self._next - offset :]
            offset = self._next
        for start, piece in self._uncovered(offset, data, t, out):
            if start == self._next:
                self._deliver(t, piece, out)
            else:
                self._held[start] = (t, piece)
                insort(self._starts, start)
                self._held_bytes += len(piece)

    def _compare_delivered(self, offset: int, old: bytes, t: float, out: list[Outcome]) -> None:
        """``old`` (at ``offset``, before ``_next``) against what was delivered there."""
        kept_from = self._next - len(self._recent)
        skip = max(0, kept_from - offset)
        mine = old[skip:]
        if not mine:
            return
        at = offset + skip - kept_from
        theirs = self._recent[at : at + len(mine)]
        differ = sum(a != b for a, b in zip(mine, theirs, strict=True))
        if differ:
            out.append(Conflict(t, differ))

    def _uncovered(
        self, offset: int, data: bytes, t: float, out: list[Outcome]
    ) -> list[tuple[int, bytes]]:
        """The pieces of ``data`` (at ``offset``) that no held segment covers, each
        overlap compared with the held copy."""
        if not data:
            return []
        end = offset + len(data)
        starts = self._starts
        index = bisect_left(starts, offset)
        if index and self._held_end(starts[index - 1]) > offset:
            index -= 1
        pieces: list[tuple[int, bytes]] = []
        at = offset
        differ = 0
        while index < len(starts) and starts[index] < end:
            start = starts[index]
            held = self._held[start][1]
            if start > at:
                pieces.append((at, data[at - offset : start - offset]))
            lo, hi = max(start, offset), min(start + len(held), end)
            new, old = data[lo - offset : hi - offset], held[lo - start : hi - start]
            differ += sum(a != b for a, b in zip(new, old, strict=True))
            at = max(at, hi)
            index += 1
        if at < end:
            pieces.append((at, data[at - offset :]))
        if differ:
            out.append(Conflict(t, differ))
        return pieces

    def _held_end(self, start: int) -> int:
        return start + len(self._held[start][1])

    def _deliver(self, t: float, data: bytes, out: list[Outcome]) -> None:
        out.append(Delivered(t, data))
        self._next += len(data)
        recent = self._recent
        recent += data
        if len(recent) > self.window:
            del recent[: len(recent) - self.window]
        self._drain(out)

    def _drain(self, out: list[Outcome]) -> None:
        """Deliver the held segments that now follow on."""
        while self._starts and self._starts[0] == self._next:
            start = self._starts.pop(0)
            t, data = self._held.pop(start)
            self._held_bytes -= len(data)
            out.append(Delivered(t, data))
            self._next += len(data)
            recent = self._recent
            recent += data
            if len(recent) > self.window:
                del recent[: len(recent) - self.window]

    def _fill_holes(self, upto: int | None, t: float, out: list[Outcome]) -> None:
        """Declare gaps for the holes before ``upto`` (None: every hole before the
        last byte held, and before the FIN), delivering what follows each."""
        while self._starts and (upto is None or self._starts[0] < upto):
            self._skip_to(self._starts[0], t, out)
            self._drain(out)
        # (an ACK past the data alone is not a gap: data may follow)
        if upto is None and self._fin is not None and self._fin > self._next:
            self._skip_to(self._fin, t, out)

    def _skip_to(self, offset: int, t: float, out: list[Outcome]) -> None:
        if offset > self._next:
            out.append(Gap(t, offset - self._next))
            self._next = offset
            self._recent.clear()

    def _finish(self, t: float, out: list[Outcome]) -> None:
        if self._fin is not None and self._next >= self._fin:
            out.append(Ended(self._fin_t, False))
            self._end()

    def _end(self) -> None:
        self.ended = True
        self._held.clear()
        self._starts.clear()
        self._held_bytes = 0
        self._recent.clear()
