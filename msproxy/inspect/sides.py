"""msproxy/inspect/sides: one capture as ``diff`` compares it, built in one pass.

A diff needs, for each connection, the normalised key of every command (what is
compared) and, for the few commands it shows, the command itself. ``Side`` keeps the
keys and where each command is; ``load_side`` builds one from a file while reading it,
keeping no record in memory but the connections' ``open``/``close`` records, so a
capture of any size costs memory for its keys only (the same normalised command is
one shared string however often it repeats). ``Side.fill`` then fetches the records
of the commands shown, in one more pass over the file (parsing those lines only).
``side_of`` builds the same from a capture already in memory.
"""

from __future__ import annotations

import filecmp
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from msproxy.capture import CaptureFormatError, Record, get_bytes, record_command
from msproxy.capture.reader import read_capture, read_located, record_at

from .model import Capture, CaptureConnection, make_capture
from .normalize import normalize_record
from .pairing import inherit, login_handle

ARROWS = {"c2s": "->", "s2c": "<-"}
_TICK = 4096  # records between two progress reports while reading

RUN_BITS = 24  # a file location is line << RUN_BITS | index of the command in its line
CACHED_PAYLOAD = 512  # commands with a longer payload are normalised without the cache
CACHE_SIZE = 65_536  # distinct commands the cache holds before it starts again
EntryKey = tuple[int, str | None]  # (connection, direction or None for both)


@dataclass(frozen=True, slots=True)
class Entry:
    """One compared item of a connection: a command (or raw bytes) with its key and text.

    ``record`` is None until the entry is shown (``Side.fill``) on a side read from a file.
    """

    key: str  # the normalised form: what is compared
    record: Record | None
    movable: bool = False  # a server command answering no pending request
    where: int = 0  # where ``record`` is: in the file (line << RUN_BITS | index in the
    # line, as ``read_located`` numbers them), or the index in ``Capture.records``
    cut: int = -1  # where the key's payload part starts (-1: it has none)

    @property
    def line_key(self) -> str:
        """The normalised form without the payload."""
        return self.key if self.cut < 0 else self.key[: self.cut]

    @property
    def suffix(self) -> str:
        """What the shown text has after the command's line: the payload's digest."""
        return "" if self.cut < 0 else self.key[self.cut :]

    @property
    def text(self) -> str:
        """The original form: what is shown (the record's exact line)."""
        record = self._record()
        if record.get("type") != "cmd":
            return self.key
        arrow = ARROWS.get(str(record.get("dir")), "??")
        return f"{arrow} {record_command(record).line}{self.suffix}"

    @property
    def payload(self) -> bytes | None:
        """The payload of a ``cmd`` entry, else None."""
        record = self._record()
        if record.get("type") != "cmd":
            return None
        return record_command(record).payload

    def _record(self) -> Record:
        if self.record is None:
            raise LookupError("this entry's record was not fetched (Side.fill)")
        return self.record


class EntryBuilder:
    """Turns the records of a capture, in order, into the entries of each connection."""

    def __init__(self, rules: frozenset[str], skip: frozenset[str], split: bool) -> None:
        self.rules = rules
        self.skip = skip
        self.split = split
        self.entries: dict[EntryKey, list[Entry]] = defaultdict(list)
        self.handles: dict[int, str] = {}  # the account that logged in on each connection
        self._requests: dict[int, set[object]] = defaultdict(set)  # TrIDs the client sent
        self._cache: dict[object, tuple[str, int]] = {}
        self._no_trid = "trid" in rules

    def add(self, record: Record, where: int, keep: bool) -> None:
        """Take one ``cmd`` or ``raw`` record (``keep``: hold the record in its entry)."""
        get = record.get
        conn, direction = record["conn"], get("dir")
        arrow = ARROWS.get(str(direction), "??")
        slot = self.entries[(conn, direction if self.split else None)]
        if get("type") == "raw":
            data = get_bytes(record, "data") or b""
            slot.append(Entry(f"{arrow} raw {data!r}", record if keep else None, where=where))
            return
        verb, trid = get("cmd"), get("trid")
        requests = self._requests[conn]
        if direction == "c2s":
            requests.add(trid if isinstance(trid, int) else None)
            if conn not in self.handles:
                handle = login_handle(str(verb), get("args"))
                if handle is not None:
                    self.handles[conn] = handle
        if verb in self.skip:
            return
        key, cut = self._normalized(record, arrow)
        movable = direction == "s2c" and (trid is None or trid not in requests)
        slot.append(Entry(key, record if keep else None, movable, where, cut))

    def _normalized(self, record: Record, arrow: str) -> tuple[str, int]:
        """(key, where its payload part starts or -1), cached by what they depend on: a capture
        repeats the same commands many times, with other TrIDs (the cache holds one
        string of each for all of them). Long payloads, which rarely repeat, are not
        cached, and the cache starts again when full: its memory stays bounded."""
        get = record.get
        trid, args, text, b64 = get("trid"), get("args"), get("payload"), get("payload_b64")
        memo: object = None
        payload = text if text is not None else b64
        if not (isinstance(payload, str) and len(payload) > CACHED_PAYLOAD):
            memo = (
                get("dir"),
                get("cmd"),
                "<trid>" if self._no_trid and trid is not None else trid,
                tuple(args) if isinstance(args, list) else args,
                text,
                b64,
            )
        try:
            known = self._cache.get(memo) if memo is not None else None
        except TypeError:  # unhashable parts: a malformed record, which normalize rejects
            memo, known = None, None
        if known is None:
            normalized = normalize_record(record, self.rules)
            suffix = f"  [{normalized.payload}]" if normalized.payload is not None else ""
            line_key = f"{arrow} {normalized.line}"
            known = (line_key + suffix, len(line_key) if suffix else -1)
            if memo is not None:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.clear()
                self._cache[memo] = known
        return known


@dataclass(slots=True)
class Side:
    """One capture as compared: its connections, sessions, and entries per connection."""

    capture: Capture  # header, connections, and (from a file) no cmd or raw record
    entries: dict[EntryKey, list[Entry]]
    handles: dict[int, str]
    path: str | None = None  # the file the entries' records are fetched from
    fetched: dict[int, Record] = field(default_factory=dict)

    def sessions(self) -> dict[int, str | None]:
        """The session (account handle) of every connection (``pairing.inherit``)."""
        return inherit(self.capture.connections, self.handles)

    def of(self, conn: int, direction: str | None) -> list[Entry]:
        """The entries of connection ``conn`` (one direction, or both: None)."""
        return self.entries.get((conn, direction), [])

    def fill(self, wanted: Iterable[Entry]) -> None:
        """Fetch the records of ``wanted`` entries (those without one) in one pass."""
        need = {e.where for e in wanted if e.record is None} - self.fetched.keys()
        if not need:
            return
        if self.path is None:  # pragma: no cover - a side in memory keeps its records
            raise LookupError("no file to fetch records from")
        lines: dict[int, list[int]] = defaultdict(list)
        for where in need:
            lines[where >> RUN_BITS].append(where & ((1 << RUN_BITS) - 1))
        with open(self.path, "rb") as file:
            for number, line in enumerate(file, start=1):
                for index in lines.get(number, ()):
                    self.fetched[number << RUN_BITS | index] = record_at(line, index)

    def filled(self, entry: Entry) -> Entry:
        """``entry`` with its record (fetched by ``fill``)."""
        if entry.record is not None:
            return entry
        return replace(entry, record=self.fetched[entry.where])


def side_of(
    records: Capture | Iterable[Record], rules: frozenset[str], skip: frozenset[str], split: bool
) -> Side:
    """The ``Side`` of a capture in memory (its records kept in the entries)."""
    capture = records if isinstance(records, Capture) else make_capture(records)
    builder = EntryBuilder(rules, skip, split)
    for index, record in enumerate(capture.records):
        if record.get("type") in ("cmd", "raw"):
            builder.add(record, index, keep=True)
    return Side(capture, dict(builder.entries), builder.handles)


def load_side(
    path: str | os.PathLike[str],
    rules: frozenset[str],
    skip: frozenset[str],
    split: bool,
    *,
    progress: Callable[[int, int], None] | None = None,
    source: str | None = None,
) -> Side:
    """The ``Side`` of the capture file at ``path``, read once, its commands' records
    not kept (``Side.fill`` fetches those shown); ``progress`` is told (records read, 0).

    Raises:
        OSError: the file cannot be read.
        CaptureFormatError: it is not a capture this reader understands.
    """
    builder = EntryBuilder(rules, skip, split)
    kept: list[Record] = []
    count = 0
    for count, (line, index, record) in enumerate(read_located(path), start=1):
        if progress is not None and count % _TICK == 0:
            progress(count, 0)
        kind = record.get("type")
        if kind in ("cmd", "raw") and count > 1:
            conn = record.get("conn")
            if not isinstance(conn, int) or isinstance(conn, bool):
                where = source or os.fspath(path)
                raise CaptureFormatError(f"{where}: line {line} has no integer 'conn'")
            if index >> RUN_BITS:
                raise CaptureFormatError(
                    f"{source or os.fspath(path)}: line {line} is too long a run"
                )
            builder.add(record, line << RUN_BITS | index, keep=False)
        else:
            kept.append(record)
    if progress is not None:
        progress(count, 0)
    capture = make_capture(kept, source=source or os.fspath(path))
    for conn, _ in builder.entries:  # commands of a connection without an ``open`` record
        if conn not in capture.connections:
            capture.connections[conn] = CaptureConnection(conn, f"#{conn}")
    return Side(capture, dict(builder.entries), builder.handles, os.fspath(path))


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two capture files hold the same bytes (the header of ``a`` checked, the
    rest not parsed).

    Raises:
        OSError: a file cannot be read.
        CaptureFormatError: ``a`` does not start as a capture.
    """
    if not (os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=False)):
        return False
    next(iter(read_capture(a)))
    return True
