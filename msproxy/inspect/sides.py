"""msproxy/inspect/sides: one capture as ``diff`` compares it, a connection at a time.

A diff needs, for each connection, the normalised key of every command (what is
compared) and, for the few commands it shows, the command itself. ``load_side`` reads a
file once to index it (``capture_index``: where each connection's commands are, its
login handle, how many entries it has), keeping no command in memory; ``Side.load`` then
builds the entries of one connection from its records read back, for the diff to
compare and drop before the next, so a capture of any size costs memory for its largest
connection (and 12 bytes a command for the index). ``Side.fill`` fetches again the
records of the commands shown. ``side_of`` builds the same from a capture already in
memory (standard input, records a test holds).
"""

from __future__ import annotations

import filecmp
import os
import stat
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from msproxy.capture import Record, get_bytes, read_capture, record_command
from msproxy.capture.reader import STDIN

from .capture_index import CaptureIndex, index_capture
from .model import Capture, CaptureConnection, make_capture
from .normalize import normalize_record
from .pairing import inherit, login_handle

ARROWS = {"c2s": "->", "s2c": "<-"}
_TICK = 4096  # records between two progress reports while reading

CACHED_PAYLOAD = 512  # commands with a longer payload are normalised without the cache
CACHE_SIZE = 16_384  # distinct commands the cache holds before it starts again
EntryKey = tuple[int, str | None]  # (connection, direction or None for both)
KeyCache = dict[object, tuple[str, int]]
"""Normalised commands by what they depend on (``EntryBuilder``): one for a set of rules."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One compared item of a connection: a command (or raw bytes) with its key and text.

    ``record`` is None until the entry is shown (``Side.fill``) on a side read from a file.
    """

    key: str  # the normalised form: what is compared
    record: Record | None
    movable: bool = False  # a server command answering no pending request
    where: int = 0  # where ``record`` is: its number among its connection's commands in
    # the file (``CaptureIndex.records``), or its index in ``Capture.records``
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

    def __init__(
        self,
        rules: frozenset[str],
        skip: frozenset[str],
        split: bool,
        cache: KeyCache | None = None,
    ) -> None:
        self.rules = rules
        self.skip = skip
        self.split = split
        self.entries: dict[EntryKey, list[Entry]] = defaultdict(list)
        self.handles: dict[int, str] = {}  # the account that logged in on each connection
        self._requests: dict[int, set[object]] = defaultdict(set)  # TrIDs the client sent
        self._cache: KeyCache = {} if cache is None else cache  # may be another's too
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

    def take(self, conn: int) -> dict[str | None, list[Entry]]:
        """The entries of connection ``conn`` by direction (None: both), forgotten here
        (what the builder knows of the connection's requests too)."""
        self._requests.pop(conn, None)
        taken = {d: self.entries.pop((c, d)) for c, d in list(self.entries) if c == conn}
        return taken

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


class Side(ABC):
    """One capture as compared: its connections, their sessions, and how many entries each
    has; ``load`` gives the entries of one connection, ``fill`` the records of some."""

    def __init__(
        self, capture: Capture, handles: dict[int, str], counts: dict[EntryKey, int]
    ) -> None:
        self.capture = capture  # header and connections; from a file, no cmd or raw record
        self.handles = handles  # the account that logged in on each connection
        self.counts = counts  # entries per (connection, direction or None)

    def sessions(self) -> dict[int, str | None]:
        """The session (account handle) of every connection (``pairing.inherit``)."""
        return inherit(self.capture.connections, self.handles)

    def count(self, conn: int, direction: str | None) -> int:
        """How many entries connection ``conn`` has (one direction, or both: None)."""
        return self.counts.get((conn, direction), 0)

    @abstractmethod
    def load(self, conn: int) -> dict[str | None, list[Entry]]:
        """The entries of connection ``conn`` by direction (None: both)."""

    @abstractmethod
    def fill(self, conn: int | None, entries: list[Entry], wanted: Iterable[int]) -> None:
        """Give the ``wanted`` (indices) of ``entries`` (``load(conn)``'s) their records."""


class MemorySide(Side):
    """A capture in memory as compared: every entry built at once, with its record."""

    def __init__(self, capture: Capture, builder: EntryBuilder) -> None:
        entries = dict(builder.entries)
        super().__init__(capture, builder.handles, {k: len(v) for k, v in entries.items()})
        self.entries = entries
        self._by_conn: dict[int, dict[str | None, list[Entry]]] = defaultdict(dict)
        for (conn, direction), listed in entries.items():
            self._by_conn[conn][direction] = listed

    def of(self, conn: int, direction: str | None) -> list[Entry]:
        """The entries of connection ``conn`` (one direction, or both: None)."""
        return self.entries.get((conn, direction), [])

    def load(self, conn: int) -> dict[str | None, list[Entry]]:
        """The entries of connection ``conn`` by direction (None: both)."""
        return self._by_conn.get(conn, {})

    def fill(self, conn: int | None, entries: list[Entry], wanted: Iterable[int]) -> None:
        """Nothing to do: the entries hold their records."""


class FileSide(Side):
    """A capture file as compared: each connection's entries built when it is compared
    (``load``) from its records read back (``CaptureIndex``), and dropped after."""

    def __init__(
        self, capture: Capture, census: Census, index: CaptureIndex, cache: KeyCache | None
    ) -> None:
        super().__init__(capture, census.handles, census.counts)
        self.index = index
        self._builder = EntryBuilder(census.rules, census.skip, census.split, cache)

    def load(self, conn: int) -> dict[str | None, list[Entry]]:
        """The entries of connection ``conn`` by direction (None: both), their records not
        kept (``where``: the record's number among the connection's).

        Raises:
            OSError, CaptureFormatError: the file cannot be read, or changed.
        """
        builder = self._builder
        for number, record in enumerate(self.index.records(conn)):
            builder.add(record, number, keep=False)
        return builder.take(conn)

    def fill(self, conn: int | None, entries: list[Entry], wanted: Iterable[int]) -> None:
        """Give the ``wanted`` (indices) of ``entries`` (``load(conn)``'s) their records,
        read back from the file.

        Raises:
            OSError, CaptureFormatError: the file cannot be read, or changed.
        """
        need = {entries[i].where: i for i in wanted if entries[i].record is None}
        if conn is None or not need:
            return
        numbers = sorted(need)
        for number, record in zip(numbers, self.index.records(conn, numbers), strict=True):
            entries[need[number]] = replace(entries[need[number]], record=record)


class Census:
    """What a diff needs of every command while a file is indexed: each connection's
    login handle and how many entries each (connection, direction) will have."""

    def __init__(self, rules: frozenset[str], skip: frozenset[str], split: bool) -> None:
        self.rules = rules
        self.skip = skip
        self.split = split
        self.handles: dict[int, str] = {}
        self.counts: dict[EntryKey, int] = {}

    def see(self, record: Record) -> None:
        """Count one ``cmd`` or ``raw`` record (as ``EntryBuilder.add`` would take it)."""
        get = record.get
        conn, direction = record["conn"], get("dir")
        key = (conn, direction if self.split else None)
        counts = self.counts
        if get("type") != "raw":
            verb = get("cmd")
            if direction == "c2s" and conn not in self.handles:
                handle = login_handle(str(verb), get("args"))
                if handle is not None:
                    self.handles[conn] = handle
            if verb in self.skip:
                counts.setdefault(key, 0)
                return
        counts[key] = counts.get(key, 0) + 1


def side_of(
    records: Capture | Iterable[Record],
    rules: frozenset[str],
    skip: frozenset[str],
    split: bool,
    cache: KeyCache | None = None,
) -> MemorySide:
    """The ``Side`` of a capture in memory (its records kept in the entries; ``cache``
    as ``load_side``'s)."""
    capture = records if isinstance(records, Capture) else make_capture(records)
    builder = EntryBuilder(rules, skip, split, cache)
    for index, record in enumerate(capture.records):
        if record.get("type") in ("cmd", "raw"):
            builder.add(record, index, keep=True)
    return MemorySide(capture, builder)


def load_side(
    path: str | os.PathLike[str],
    rules: frozenset[str],
    skip: frozenset[str],
    split: bool,
    *,
    progress: Callable[[int, int], None] | None = None,
    source: str | None = None,
    cache: KeyCache | None = None,
) -> Side:
    """The ``Side`` of the capture file at ``path``, read once to index it (``FileSide``:
    each connection's commands are read again when it is compared); standard input
    (``-``) or a pipe, which cannot be read again, is held in memory (``side_of``).
    ``progress`` is told (records read, 0). ``cache``: normalised commands, shared with
    the other side of the diff (the same commands, compared right after), the same rules.

    Raises:
        OSError: the file cannot be read.
        CaptureFormatError: it is not a capture this reader understands.
    """
    if os.fspath(path) == STDIN or not stat.S_ISREG(os.stat(path).st_mode):
        records: Iterable[Record] = read_capture(path)
        if progress is not None:
            records = counted(records, progress)
        capture = make_capture(records, source=source or os.fspath(path))
        return side_of(capture, rules, skip, split, cache)
    census = Census(rules, skip, split)
    index = index_capture(path, census.see, progress=progress, source=source)
    capture = make_capture(index.kept, source=source or os.fspath(path))
    for conn in index.spans:  # commands of a connection without an ``open`` record
        if conn not in capture.connections:
            capture.connections[conn] = CaptureConnection(conn, f"#{conn}")
    return FileSide(capture, census, index, cache)


def counted(records: Iterable[Record], progress: Callable[[int, int], None]) -> Iterator[Record]:
    """``records`` as they go by, telling ``progress`` (records so far, 0) every
    ``_TICK`` records and once at the end."""
    count = 0
    for count, record in enumerate(records, start=1):
        if count % _TICK == 0:
            progress(count, 0)
        yield record
    progress(count, 0)


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
