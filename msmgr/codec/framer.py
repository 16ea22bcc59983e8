"""msmgr/codec/framer: bytes in, commands out, for one direction of one connection.

Strategy:

* ``feed(data)`` appends to a buffer and returns every command that is now complete,
  in order. Chunking does not matter: the same bytes in one piece, in two, or one at a
  time give the same commands.
* A command is a line ended by LF (CRLF normally; a bare LF is accepted and kept), plus,
  for payload commands (``tables.has_payload``), exactly N bytes after it, where N is the
  line's last token. Every command keeps its exact bytes in ``raw``: concatenating the
  ``raw`` of all commands returned gives back every byte consumed.
* Limits are explicit (``Limits``): a line longer than ``max_line`` bytes or a payload
  larger than ``max_payload`` bytes is an error. The buffer therefore never holds more
  than ``max_line + max_payload`` bytes.
* Two modes. Strict (the library and the server): anything invalid raises
  ``RemoteProtocolError`` naming the bytes. Tolerant (the proxy): nothing is ever dropped or
  altered. A line that is not a command comes out as ``Unparsed``; when framing is lost
  (a limit exceeded) the framer says so once (``Desync``) and hands every later byte of
  that direction back as ``Passthrough``.
* The server's ``VER`` reply sets ``dialect.version``; pass one ``Dialect`` to both
  directions' framers so that both see the negotiated version.
* The optional C accelerator ``_cframe`` (built by ``pip install`` when a C compiler is
  there) makes the ``Command`` objects of runs of ordinary commands;
  the framer parses everything else itself, so the results are the same (the tests
  compare the two paths). ``Framer(accelerate=False)`` turns it off; the default,
  None, uses it when it is built. Code that makes framers for others (the stream, the
  client, the server, the replay) takes the same argument and passes it down; the
  library reads no environment (``MSMGR_PURE_PYTHON`` is the command lines' switch).
* An optional bulk scanner (``bulk``) may take over runs of ordinary commands: it
  consumes as many complete commands as it can handle from a position and returns what
  it made of them, which comes out as one ``CommandRun`` event; the framer parses the
  next command itself (anything the scanner leaves) and hands over again. The proxy
  uses this for its capture's C fast path; the scanner must stop at every command
  whose framing depends on state it does not track (see ``BulkScanner``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from types import ModuleType

from .accel import load_accelerator
from .command import Command, Direction, is_verb
from .errors import SYNTAX_ERROR, LimitExceeded, RemoteProtocolError
from .events import (
    BulkScanner,
    CommandRun,
    Desync,
    Dialect,
    Event,
    Limits,
    Passthrough,
    Unparsed,
)
from .tables import DIALECT_VERBS, NO_TRID_VERBS, PAYLOAD_VERBS, parse_version, verb_rules

__all__ = ["FastRules", "Framer", "accelerated", "fast_rules"]

CFRAME_ABI = 1
"""The interface of ``_cframe`` these sources call (its ``ABI``; see ``msmgr.codec.accel``)."""
_cframe: ModuleType | None
_cframe, CFRAME_MISSING = load_accelerator("msmgr.codec._cframe", CFRAME_ABI)

PURE_PYTHON_ENV = "MSMGR_PURE_PYTHON"
"""The environment variable with which the command lines turn the C accelerator off
(they pass ``accelerate=False`` down); library code does not read it."""

_HEAD = 4096
"""Bytes of a big chunk copied to complete a command buffered before it (``feed``)."""


def accelerated() -> bool:
    """True when the C accelerator is built: what ``Framer(accelerate=None)`` chooses."""
    return _cframe is not None


FastRules = tuple[bytes, bytes, tuple[bytes, ...], int, int]
"""The C framing rules of a direction (see ``fast_rules``)."""


def _packed(verbs: Iterable[str]) -> bytes:
    return b"".join(sorted(v.encode("ascii") for v in verbs if len(v) == 3 and v.isascii()))


@lru_cache(maxsize=64)
def fast_rules(
    direction: Direction, limits: Limits, slow: frozenset[str] = frozenset()
) -> FastRules:
    """What the C accelerators (``_cframe``, ``msproxy.capture._scan``) frame by: the
    direction's payload and TrID-less verbs packed (``b"MSGQRY..."``), the line prefixes
    they leave to the Python framer (``slow`` and ``DIALECT_VERBS``), and the limits."""
    return (
        _packed(PAYLOAD_VERBS[direction]),
        _packed(NO_TRID_VERBS[direction]),
        tuple(sorted(p.encode("ascii") for p in slow | DIALECT_VERBS[direction])),
        limits.max_line,
        limits.max_payload,
    )


def _is_number(token: str) -> bool:
    return token.isdigit() and token.isascii()


class Framer:
    """Splits one direction's byte stream into commands.

    Args:
        direction: which way the bytes travel; decides the payload and TrID tables.
        strict: raise ``RemoteProtocolError`` on invalid input (True) or pass it on (False).
        dialect: shared connection knowledge (the MSNP version); a new one if omitted.
        limits: the line and payload limits.
        bulk: a ``BulkScanner`` for runs of ordinary commands (``CommandRun`` events);
            may be set or cleared between two ``feed`` calls.
        accelerate: use the C accelerator; None (the default): when it is built
            (``accelerated()``); True without it raises RuntimeError.
    """

    __slots__ = (
        "_buf",
        "_desynced",
        "_need",
        "_rules",
        "_verbs",
        "bulk",
        "dialect",
        "direction",
        "limits",
        "strict",
    )

    def __init__(
        self,
        direction: Direction,
        *,
        strict: bool = True,
        dialect: Dialect | None = None,
        limits: Limits | None = None,
        bulk: BulkScanner | None = None,
        accelerate: bool | None = None,
    ) -> None:
        self.direction = direction
        self.bulk = bulk
        self.strict = strict
        self.dialect = dialect if dialect is not None else Dialect()
        self.limits = limits if limits is not None else Limits()
        if accelerate and _cframe is None:
            raise RuntimeError("the C extension msmgr.codec._cframe is not built")
        fast = accelerated() if accelerate is None else accelerate
        self._rules = fast_rules(direction, self.limits) if fast else None
        self._verbs = verb_rules(direction, self.dialect.version)
        self._buf = bytearray()
        self._need = 0  # no complete command can exist while len(_buf) < _need
        self._desynced = False

    @property
    def pending(self) -> int:
        """How many bytes are buffered, waiting for the rest of a command."""
        return len(self._buf)

    @property
    def desynced(self) -> bool:
        """True once framing was lost (tolerant mode): later bytes are Passthrough."""
        return self._desynced

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Add bytes; return the events completed by them, in order.

        Raises:
            RemoteProtocolError: in strict mode, on invalid input or an exceeded limit
                (``LimitExceeded``).
        """
        if self._desynced:
            return [Passthrough(bytes(data))] if data else []
        buf = self._buf
        events: list[Event] = []
        start = 0
        if buf:
            if len(buf) + len(data) < self._need or (self._need == 0 and b"\n" not in data):
                buf += data
                if self._need == 0 and len(buf) > self.limits.max_line:
                    return self._lost_in_buffer(f"line longer than {self.limits.max_line} bytes")
                return []
            lead = len(buf)
            head = max(_HEAD, 2 * lead)
            if len(data) > 2 * head:
                # A big chunk after a partial command: complete that command from the
                # chunk's first bytes, then parse the chunk where it stopped, instead of
                # copying all of it after the partial one (a copy of a big chunk costs
                # more than the system call that read it).
                work = b"".join((buf, data[:head]))
                pos = self._parse_from(work, 0, events)
                if self.desynced:  # (the property: mypy would assume it is still False)
                    # the rest of the chunk is after the desync too: one Passthrough
                    last = events.pop()
                    assert isinstance(last, Passthrough)
                    events.append(Passthrough(last.data + bytes(data[head:])))
                    buf.clear()
                    return events
                # The buffered bytes start a command that was incomplete: either it is
                # still (nothing consumed) or everything up to its end was.
                assert pos == 0 or pos > lead, (pos, lead)
                if pos:
                    buf.clear()
                    start = pos - lead
                    work = bytes(data)  # (no copy when data is bytes)
                else:  # that command is longer than the head: the whole chunk joins it
                    work = b"".join((buf, data))
                    buf.clear()
            else:
                work = b"".join((buf, data))  # one copy of each (not buf += data, bytes(buf))
                buf.clear()
        else:
            work = bytes(data)  # (no copy when data is bytes)
        pos = self._parse_from(work, start, events)
        if pos < len(work):
            buf += work[pos:] if pos else work
        return events

    def _parse_from(self, work: bytes, pos: int, events: list[Event]) -> int:
        """Parse ``work[pos:]`` into ``events`` with the fastest path this framer has;
        return the offset of the first unused byte."""
        if self.bulk is not None:
            return self._parse_alternating(work, events, self._bulk_step, pos)
        if self._rules is not None:
            return self._parse_alternating(work, events, self._c_step, pos)
        return self._parse(work, events, pos)

    def close(self) -> list[Event]:
        """End of stream: report bytes left over in the middle of a command.

        Raises:
            RemoteProtocolError: in strict mode, if a partial command is left.
        """
        if not self._buf or self._desynced:
            return []
        rest = bytes(self._buf)
        self._buf.clear()
        self._need = 0
        reason = "connection closed in the middle of a command"
        if self.strict:
            raise RemoteProtocolError(reason, rest)
        return [Unparsed(rest, reason)]

    # -- internals -------------------------------------------------------------

    def _lost_in_buffer(self, reason: str) -> list[Event]:
        work = bytes(self._buf)
        self._buf.clear()
        events: list[Event] = []
        self._framing_lost(work, 0, events, reason)
        return events

    def _parse_alternating(
        self,
        work: bytes,
        events: list[Event],
        step: Callable[[bytes, int, list[Event]], int],
        pos: int = 0,
    ) -> int:
        """``_parse`` with ``step`` (a fast path) taking every run of commands it handles,
        and ``_parse`` the one command after each run; returns as ``_parse``."""
        size = len(work)
        while True:
            pos = step(work, pos, events)
            if pos >= size:
                self._need = 0
                return pos
            new = self._parse(work, events, pos, one=True)
            if new == pos or self._desynced:
                return new
            pos = new

    def _bulk_step(self, work: bytes, pos: int, events: list[Event]) -> int:
        assert self.bulk is not None
        new, count, data = self.bulk(work, pos)
        if not count:
            return pos
        # a view, not a copy: the run's bytes are read once more (forwarded or captured)
        events.append(CommandRun(memoryview(work)[pos:new], count, data))
        return new

    def _c_step(self, work: bytes, pos: int, events: list[Event]) -> int:
        assert _cframe is not None
        assert self._rules is not None
        new, commands = _cframe.frame(work, pos, *self._rules, Command)
        events += commands
        return int(new)

    def _parse(self, work: bytes, events: list[Event], pos: int = 0, *, one: bool = False) -> int:
        """Parse complete commands from ``work[pos:]``; return the offset of the first
        unused byte. ``one``: return after the first event.

        This is the hot loop of the proxy: it asks the rules of ``tables`` once per verb
        and version (``tables.VerbRules``), not once per command.
        """
        rules = self._verbs
        if rules.version != self.dialect.version:
            rules = self._verbs = verb_rules(self.direction, self.dialect.version)
        payload_at = rules.payload_at
        trid_verbs = rules.trid_verbs
        s2c = self.direction is Direction.S2C
        max_line = self.limits.max_line
        max_payload = self.limits.max_payload
        find = work.find
        append = events.append
        size = len(work)
        self._need = 0
        while pos < size:
            nl = find(b"\n", pos)
            if nl < 0 or nl - pos >= max_line:
                if nl >= 0 or size - pos > max_line:
                    reason = f"line longer than {max_line} bytes"
                    return self._framing_lost(work, pos, events, reason)
                return pos
            end = nl - 1 if nl > pos and work[nl - 1] == 13 else nl
            tokens = work[pos:end].decode("utf-8", "surrogateescape").split(" ")
            verb = tokens[0]
            at = payload_at.get(verb)
            if at is None:
                if not is_verb(verb):
                    raw = work[pos : nl + 1]
                    if self.strict:
                        raise RemoteProtocolError(
                            "not an MSNP command line", raw, error_code_hint=SYNTAX_ERROR
                        )
                    append(Unparsed(raw, "not an MSNP command line"))
                    pos = nl + 1
                    if one:
                        return pos
                    continue
                at = rules.learn(verb)
            stop = nl + 1
            payload: bytes | None = None
            last = tokens[-1]
            if len(tokens) >= at and last.isdigit() and last.isascii():
                count = int(last)
                if count > max_payload:
                    reason = f"payload of {count} bytes is larger than the limit of {max_payload}"
                    return self._framing_lost(work, pos, events, reason)
                stop += count
                if stop > size:
                    self._need = stop - pos
                    return pos
                payload = work[nl + 1 : stop]
                del tokens[-1]
            trid: int | None = None
            if len(tokens) > 1:
                first = tokens[1]
                if first.isdigit() and first.isascii() and verb in trid_verbs:
                    trid = int(first)
                    del tokens[1]
                if s2c and verb == "VER" and self._note_version(tokens):
                    rules = self._verbs = verb_rules(self.direction, self.dialect.version)
                    payload_at = rules.payload_at
                    trid_verbs = rules.trid_verbs
            del tokens[0]
            append(Command(verb, trid, tuple(tokens), payload, work[pos:stop]))
            pos = stop
            if one:
                return pos
        return pos

    def _note_version(self, tokens: list[str]) -> bool:
        """Set the dialect's version from the server's VER; True when it has one."""
        for token in tokens[1:]:
            version = parse_version(token)
            if version is not None:
                self.dialect.version = version
                return True
        return False

    def _framing_lost(self, work: bytes, pos: int, events: list[Event], reason: str) -> int:
        if self.strict:
            raise LimitExceeded(reason, work[pos : pos + 80], error_code_hint=SYNTAX_ERROR)
        self._desynced = True
        events.append(Desync(reason))
        events.append(Passthrough(work[pos:]))
        return len(work)
