"""msproxy/interchange/importer: packet captures -> a capture, streaming.

``Importer`` is sans-IO: TCP segments in (``feed``, in file order), capture records out,
in the order they are to be written. ``import_pcaps`` reads the files and writes the
records as they come, so memory stays bounded whatever the size of the files: what is
held is the connections still open (each direction's out-of-order bytes, at most
``reassembly.MAX_HELD``), the first line of a connection not yet recognised, and the
records of recognised connections waiting for an earlier one to be recognised.

Numbering: connections are numbered in the order of their first packet, counting only
those recognised as MSNP. A connection's records wait while an earlier connection is
undecided (no complete first line yet); one undecided for longer than ``MAX_WAIT``
seconds of capture time, or while more than ``MAX_WAITING`` records wait behind it,
loses its place (it gets a number when it is recognised).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msmgr.codec import format_address
from msproxy import __version__
from msproxy.capture import CaptureWriter, Record, close_record, open_record
from msproxy.proxy.redact import Redactor

from .flows import Flow, FlowRecorder
from .linking import Linker
from .pcapfile import ReadStats, read_segments
from .reassembly import Reassembler
from .recognise import NOT_MSNP, Verdict, recognise
from .segments import Ended, Endpoint, Outcome, Segment

logger = logging.getLogger(__name__)

MAX_WAIT = 60.0
"""Seconds (capture time) an undecided connection keeps later ones from being numbered."""
MAX_WAITING = 100_000
"""Records held behind an undecided connection before it loses its place."""
BATCH = 2_000
"""Records per write."""

FlowKey = tuple[Endpoint, Endpoint]


@dataclass(slots=True)
class ImportStats:
    """What an import read and wrote."""

    files: int = 0
    read: ReadStats = field(default_factory=ReadStats)
    tcp_connections: int = 0
    msnp_connections: int = 0
    records: int = 0


class Importer:
    """TCP segments in, capture records out (sans-IO).

    Args:
        ports: when not empty, only connections with one end on one of these ports.
        redactor: replaces login secrets as the proxy does; None keeps them.
    """

    def __init__(self, *, ports: Collection[int] = (), redactor: Redactor | None) -> None:
        self.ports = frozenset(ports)
        self.recorder = FlowRecorder(redactor)
        self.linker = Linker()
        self.stats = ImportStats()
        self._flows: dict[FlowKey, Flow] = {}
        self._queue: deque[Flow] = deque()  # not numbered yet, in first-packet order
        self._waiting = 0  # records held by flows in _queue
        self._numbers: dict[int, int] = {}  # flow key -> conn number
        self._late: list[Flow] = []  # lost their place in _queue, not numbered yet
        self._out: list[Record] = []

    def feed(self, segment: Segment) -> list[Record]:
        """Take the next segment of the capture; the records ready to be written."""
        flow = self._flow_of(segment)
        if flow is not None and flow.verdict is not None and not flow.verdict.msnp:
            self._ignore(flow, segment)
        elif flow is not None:
            sender, receiver = segment.src, segment.dst
            if segment.ack is not None:
                self._take(flow, receiver, flow.ends[receiver].acked(segment.ack, segment.t))
            if flow.ends:
                self._take(flow, sender, flow.ends[sender].segment(segment))
            if not flow.ends:  # decided not MSNP meanwhile
                self._ignore(flow, segment)
            elif segment.rst and not (other := flow.ends[receiver]).ended:
                self._take(flow, receiver, [*other.flush(segment.t), Ended(segment.t, True)])
                other.ended = True
            self._advance(segment.t)
        out, self._out = self._out, []
        return out

    def finish(self, t: float) -> list[Record]:
        """The capture ended at ``t``: what was held, and the close records of the
        connections one side had ended."""
        flows = list(self._flows.values())
        for flow in flows:
            for endpoint, ends in flow.ends.items():
                self._take(flow, endpoint, ends.flush(t))
            if flow.verdict is None:
                self._decide(flow, NOT_MSNP)
            elif flow.verdict.msnp and not flow.done:
                for way in flow.ways.values():
                    self.recorder.cut(flow, way, t, "the incomplete end of the stream")
                if any(way.ended for way in flow.ways.values()):
                    self._close(flow)
        self._advance(t, final=True)
        for flow in flows:
            if flow.number is not None and flow.records:
                self._flush(flow)
        self._flows.clear()
        out, self._out = self._out, []
        return out

    # -- connections -------------------------------------------------------------

    def _flow_of(self, segment: Segment) -> Flow | None:
        a, b = segment.src, segment.dst
        key = (a, b) if a <= b else (b, a)
        flow = self._flows.get(key)
        fresh_syn = segment.syn and segment.ack is None
        if flow is not None and fresh_syn and self._ended(flow, a):
            self._retire(key, flow)  # the same ports again: a new connection
            flow = None
        if flow is not None:
            return flow
        if not (segment.syn or segment.data):
            return None  # a bare ACK, FIN or RST of a connection not seen from its start
        if self.ports and a[1] not in self.ports and b[1] not in self.ports:
            return None
        initiator, responder = (b, a) if segment.syn and segment.ack is not None else (a, b)
        self.stats.tcp_connections += 1
        flow = Flow(
            key=self.stats.tcp_connections,
            first_t=segment.t,
            initiator=initiator,
            responder=responder,
            ends={a: Reassembler(), b: Reassembler()},
            opening={a: bytearray(), b: bytearray()},
        )
        self._flows[key] = flow
        self._queue.append(flow)
        return flow

    @staticmethod
    def _ended(flow: Flow, endpoint: Endpoint) -> bool:
        """Whether ``endpoint``'s direction of ``flow`` ended."""
        ends = flow.ends.get(endpoint)
        return flow.done or endpoint in flow.enders or (ends is not None and ends.ended)

    def _ignore(self, flow: Flow, segment: Segment) -> None:
        """A segment of a connection that is not MSNP: only its end matters (then the
        connection is forgotten)."""
        if segment.fin and segment.src not in flow.enders:
            flow.enders.append(segment.src)
        if segment.rst or len(flow.enders) == 2:
            flow.done = True
            self._forget(flow)

    def _retire(self, key: FlowKey, flow: Flow) -> None:
        del self._flows[key]
        if flow.verdict is None:
            self._decide(flow, NOT_MSNP)
        elif flow.verdict.msnp and not flow.done:
            self._close(flow)

    def _take(self, flow: Flow, sender: Endpoint, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            if flow.verdict is None:
                flow.pending.append((sender, outcome))
                self._recognise(flow, sender, outcome)
            elif flow.verdict.msnp:
                self._record(flow, sender, outcome)

    def _recognise(self, flow: Flow, sender: Endpoint, outcome: Outcome) -> None:
        data = getattr(outcome, "data", None)
        if isinstance(data, bytes):
            opening = flow.opening[sender]
            opening += data
            verdict = recognise(sender, bytes(opening), flow.other(sender), self.ports)
            if verdict is not None:
                self._decide(flow, verdict)
                return
        if all(e.ended for e in flow.ends.values()):
            self._decide(flow, NOT_MSNP)

    def _decide(self, flow: Flow, verdict: Verdict) -> None:
        flow.verdict = verdict
        flow.opening.clear()
        pending, flow.pending = flow.pending, []
        if not verdict.msnp:
            flow.enders = [e for e, ends in flow.ends.items() if ends.ended]
            flow.ends = {}  # (nothing more is reassembled: see _ignore)
            if len(flow.enders) == 2:
                flow.done = True
                self._forget(flow)
            return
        flow.start_framing()
        for sender, outcome in pending:
            self._record(flow, sender, outcome)

    def _record(self, flow: Flow, sender: Endpoint, outcome: Outcome) -> None:
        before = len(flow.records)
        for command in self.recorder.outcome(flow, sender, outcome):
            self.linker.saw(flow.key, flow.client, command, outcome.t)
        if isinstance(outcome, Ended) and all(w.ended for w in flow.ways.values()):
            self._close(flow)
        if flow.number is None:
            self._waiting += len(flow.records) - before
        else:
            self._flush(flow)

    def _close(self, flow: Flow) -> None:
        ends = sorted(  # by time, then in the order they ended
            (way.ended, n, endpoint)
            for n, endpoint in enumerate(flow.enders)
            if (way := flow.ways[endpoint]).ended is not None
        )
        (t, reset), _, first = ends[0]
        by = "client" if first == flow.client else "server"
        finished = ends[-1][0][0] if len(ends) > 1 and ends[-1][0][0] > t else None
        reason = "reset" if reset else "end of stream"
        flow.records.append(close_record(0, by, reason, t, finished=finished))
        flow.done = True
        self._forget(flow)

    def _forget(self, flow: Flow) -> None:
        a, b = flow.initiator, flow.responder
        key = (a, b) if a <= b else (b, a)
        if self._flows.get(key) is flow:
            del self._flows[key]

    # -- numbering -----------------------------------------------------------------

    def _advance(self, now: float, *, final: bool = False) -> None:
        """Number the decided connections at the head of the queue, and give up the
        place of an undecided one kept too long."""
        queue = self._queue
        while queue:
            head = queue[0]
            if head.verdict is None:
                if final:
                    self._decide(head, NOT_MSNP)
                elif now - head.first_t > MAX_WAIT or self._waiting > MAX_WAITING:
                    queue.popleft()
                    head.late = True
                    self._late.append(head)
                    continue
                else:
                    return
            queue.popleft()
            self._number(head)
        # connections that lost their place: numbered once decided
        if self._late:
            for flow in [f for f in self._late if f.verdict is not None or final]:
                self._late.remove(flow)
                if flow.verdict is None:
                    self._decide(flow, NOT_MSNP)
                self._number(flow)

    def _number(self, flow: Flow) -> None:
        assert flow.verdict is not None
        self._waiting -= len(flow.records)
        if not flow.verdict.msnp:
            flow.records.clear()
            return
        self.stats.msnp_connections += 1
        number = flow.number = self.stats.msnp_connections
        self._numbers[flow.key] = number
        link = self.linker.link(flow.client, flow.server, flow.first_command, flow.first_t)
        parent = self._numbers.get(link.parent) if link.parent is not None else None
        self._out.append(
            open_record(
                number,
                flow.first_t,
                role=link.role,
                client=format_address(*flow.client),
                upstream=format_address(*flow.server),
                parent=parent,
                via=link.via if parent is not None else None,
            )
        )
        self._flush(flow)

    def _flush(self, flow: Flow) -> None:
        number = flow.number
        for record in flow.records:
            record["conn"] = number
        self._out += flow.records
        self.stats.records += len(flow.records)
        flow.records.clear()


def import_pcaps(
    paths: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    ports: Collection[int] = (),
    redact: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ImportStats:
    """Read the packet files ``paths`` (pcap or pcapng, in this order) and write the MSNP
    connections found in them to the new capture ``output``.

    Args:
        ports: only connections with one end on one of these ports (empty: all).
        redact: replace login secrets as the proxy does (False keeps them).
        progress: called now and then with the bytes read so far, all files together.

    Raises:
        pcapfile.PcapError: a file is not a packet capture read here.
        OSError: a file cannot be read, or ``output`` exists or cannot be created.

    On an error the capture made so far is removed.
    """
    importer = Importer(ports=ports, redactor=Redactor() if redact else None)
    stats = importer.stats
    writer: CaptureWriter | None = None
    batch: list[Record] = []
    last_t = 0.0
    done = 0
    header: dict[str, Any] = {
        "imported": {
            "from": [Path(p).name for p in paths],
            "by": f"msproxy {__version__} import",
            "ports": sorted(ports),
        },
        "redacted": redact,
    }
    created = False
    try:
        for path in paths:
            base = done
            report = None if progress is None else (lambda at, base=base: progress(base + at))
            with open(path, "rb") as stream:
                for segment in read_segments(stream, stats.read, report):
                    if writer is None:
                        writer = _open(output, segment.t, header)
                        created = True
                    last_t = segment.t
                    batch += importer.feed(segment)
                    if len(batch) >= BATCH:
                        writer.write_many(batch)
                        batch.clear()
            done += os.path.getsize(path)
            stats.files += 1
        if writer is None:
            writer = _open(output, 0.0, header)
            created = True
        batch += importer.finish(last_t)
        writer.write_many(batch)
    except Exception:
        if created:
            os.unlink(output)  # never leave half an import behind
        raise
    finally:
        if writer is not None:
            writer.close()
    return stats


def _open(output: str | os.PathLike[str], started: float, header: dict[str, Any]) -> CaptureWriter:
    return CaptureWriter(output, tool=f"msproxy {__version__}", started=started, **header)
