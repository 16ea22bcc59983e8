"""``msproxy show``: print a capture, one readable line per record."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from msproxy.capture import CaptureFormatError, Record, encode_record, read_capture
from msproxy.capture.reader import STDIN
from msproxy.inspect.clitools import capture_parser, fail, stream_records, use_color, where
from msproxy.inspect.filters import DIRECTIONS, RecordFilter, parse_conn
from msproxy.inspect.show import ShowOptions, StreamNames, stream_lines
from msproxy.inspect.streams import rebuild_direction
from msproxy.view import filterlang
from msproxy.view.filterlang import Filter, FilterError

NOTE_NAMES = 20  # how many connection names a note lists at most
BATCH = 1000  # records per write with --json


def register(subparsers: Any) -> None:
    """Add the ``show`` sub-command."""
    parser = capture_parser(
        subparsers,
        "show",
        brief="print a capture, one line per command",
        description="Print a capture: time, connection, direction and command line per record "
        "(--json: the records themselves; --bytes: one direction's exact bytes). "
        "--filter selects records in the filter language (see the README): "
        "'not cmd PNG,QNG,CHL,QRY', 'role SB and handle alice@example.com'; "
        "--conn, --cmd and --dir are shorthands for its tests, joined with 'and'. "
        "CAPTURE '-' reads standard input.",
    )
    parser.add_argument(
        "--filter", metavar="EXPR", help="only records the expression selects (cmd MSG and ...)"
    )
    parser.add_argument(
        "--conn",
        metavar="N[,N]",
        action="append",
        help="only these connections: ids (5) or names as shown (SB#5, #7)",
    )
    parser.add_argument("--cmd", metavar="VERB[,VERB]", action="append", help="only these verbs")
    parser.add_argument("--dir", choices=DIRECTIONS, help="only one direction")
    parser.add_argument("--grep", metavar="REGEX", help="only records whose text matches")
    parser.add_argument(
        "-f", "--follow", action="store_true", help="keep reading as the capture grows (tail -f)"
    )
    parser.add_argument("--payload", action="store_true", help="print payloads (text or hex)")
    parser.add_argument(
        "--raw", action="store_true", help="print exact line bytes (escaped) and raw data dumps"
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="ANSI colour (auto: on a terminal, unless NO_COLOR is set)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--bytes",
        action="store_true",
        help="write exactly the bytes of one direction (--conn N --dir c2s|s2c) as the "
        "sender sent them (secrets as the capture keeps them), binary, to standard output",
    )
    output.add_argument(
        "--json", action="store_true", help="write the selected records as JSON Lines"
    )
    parser.add_argument(
        "--as-received",
        action="store_true",
        help="with --bytes: as the receiver got them (the recorded redirect rewrites "
        "applied, data the proxy did not forward left out)",
    )
    parser.set_defaults(run=run)


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [item for value in values for item in value.split(",") if item]


class WrongConnection(Exception):
    """A ``--conn ROLE#N`` whose connection N has another role."""


@dataclass(slots=True)
class Selection:
    """The records to print (``--filter`` and its shorthands, ``--grep``), and what the
    capture turned out to hold of the connections and verbs they name."""

    selector: Filter | None
    grep: RecordFilter
    conns: dict[int, str | None] = field(default_factory=dict)
    verbs: frozenset[str] = frozenset()
    names: dict[int, str] = field(default_factory=dict)
    seen_verbs: set[str] = field(default_factory=set)
    seen_conns: set[object] = field(default_factory=set)

    def __call__(self, record: Record) -> bool:
        kind = record.get("type")
        if kind == "open":
            self._check_open(record)
        elif kind == "cmd":
            self.seen_verbs.add(str(record.get("cmd")))
        if kind != "open":  # a connection may have records but no open record
            self.seen_conns.add(record.get("conn"))
        selected = self.selector(record) if self.selector is not None else True
        return selected and self.grep(record)

    def _check_open(self, record: Record) -> None:
        conn = record.get("conn")
        if not isinstance(conn, int) or conn in self.names:
            return
        role = record.get("role") if isinstance(record.get("role"), str) else None
        self.names[conn] = f"{role or ''}#{conn}"
        wanted = self.conns.get(conn)
        if wanted is not None and wanted != role:
            raise WrongConnection(
                f"--conn {wanted}#{conn}: connection {conn} is {self.names[conn]}, "
                f"not {wanted}#{conn}"
            )

    def notes(self, path: str) -> list[str]:
        """What the capture did not have: named connections, verbs."""
        out = []
        for conn in self.conns:
            if conn not in self.names and conn not in self.seen_conns:
                names = list(self.names.values())
                ids = ", ".join(names[:NOTE_NAMES]) or "none"
                if len(names) > NOTE_NAMES:
                    ids += f", ... ({len(names)} in all)"
                out.append(f"{path} has no connection {conn} (its connections: {ids})")
        missing = sorted(self.verbs - self.seen_verbs)
        if missing:
            out.append(f"{path} has no {', '.join(missing)} command")
        return out


def _compile(flag: str, text: str) -> Filter:
    try:
        return filterlang.compile(text)
    except FilterError as exc:
        if flag == "--filter":
            raise ValueError(f"--filter: {exc}") from None
        raise ValueError(f"{flag}: {exc.message}") from None


def selection(args: argparse.Namespace) -> Selection:
    """The ``Selection`` of ``show``'s options.

    Raises:
        ValueError: a bad option (the message names it).
    """
    names = _split(args.conn)
    conns = [parse_conn(name) for name in names] if names is not None else None
    if conns == []:
        raise ValueError("--conn needs at least one connection id or name")
    verbs = _split(getattr(args, "cmd", None))
    if verbs == []:
        raise ValueError("--cmd needs at least one verb")
    parts = [args.filter] if args.filter else []
    if args.filter is not None:
        _compile("--filter", args.filter)
    if conns is not None:
        parts.append("conn " + ",".join(str(conn) for conn, _ in conns))
    if verbs is not None:
        parts.append("cmd " + ",".join(verbs))
        _compile("--cmd", parts[-1])
    if getattr(args, "dir", None) is not None:
        parts.append(f"dir {args.dir}")
    text = filterlang.conjunction(*parts)
    selector = _compile("--filter", text) if text is not None else None
    named = set(selector.verbs()) if selector is not None else set()
    return Selection(
        selector,
        RecordFilter.build(pattern=getattr(args, "grep", None)),
        conns=dict(conns or []),
        verbs=frozenset(named),
    )


def prime(chosen: Selection, path: str, *, follow: bool = False) -> None:
    """Read a capture file once first when the filter follows accounts (``handle``), so
    that the first lines of a connection, before its login, are selected too; and when
    ``--conn`` names a role, to refuse a wrong one before printing anything."""
    if path == STDIN:
        return
    if chosen.selector is not None and chosen.selector.uses_sessions() and not follow:
        chosen.selector.prime(read_capture(path))
    if any(role is not None for role in chosen.conns.values()):
        check = Selection(None, RecordFilter(), conns=chosen.conns)
        with open(path, "rb") as file:
            for line in file:
                if b'"open"' in line[:24]:  # an open record: its "type" comes first
                    record = json.loads(line)
                    if isinstance(record, dict) and record.get("type") == "open":
                        check(record)


def run(args: argparse.Namespace) -> int:
    """Print the capture; 0 on success, 2 on a bad capture or bad options."""
    try:
        chosen = selection(args)
    except ValueError as exc:
        return fail("show", str(exc))
    if args.bytes and (
        len(chosen.conns) != 1 or args.dir is None or args.cmd or args.grep or args.filter
    ):
        return fail("show", "--bytes takes one --conn N and --dir c2s|s2c, and no other filter")
    if args.as_received and not args.bytes:
        return fail("show", "--as-received goes with --bytes")
    if args.bytes and args.follow:
        return fail("show", "--bytes writes a whole direction: not with --follow")
    color = use_color(args.color, sys.stdout)
    options = ShowOptions(payload=args.payload, raw=args.raw, color=color)
    records = stream_records(args.capture, follow=args.follow)
    try:
        prime(chosen, args.capture, follow=args.follow)
        if args.bytes:
            ((conn, _),) = chosen.conns.items()
            data = rebuild_direction(
                _watched(records, chosen), conn, args.dir, as_received=args.as_received
            )
            _write_binary(data)
        elif args.json:
            _write_records(records, chosen, flush=args.follow)
        else:
            for line in stream_lines(records, chosen, options, StreamNames()):
                print(line, flush=args.follow)
    except WrongConnection as exc:
        return fail("show", str(exc))
    except CaptureFormatError as exc:
        text = str(exc)
        return fail("show", where(args.capture, text))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # `msproxy show x | head`: stop quietly
            _quiet_stdout()
            return 0
        return fail("show", f"cannot read {args.capture}: {exc.strerror or exc}")
    except KeyboardInterrupt:  # the end of --follow
        return 0
    for note in chosen.notes(args.capture):
        print(f"msproxy show: note: {note}", file=sys.stderr)
    return 0


def _watched(records: Iterable[Record], chosen: Selection) -> Iterator[Record]:
    """Every record, each shown to ``chosen`` first (its notes and its check of a
    ``--conn`` role)."""
    for record in records:
        chosen(record)
        yield record


def _write_binary(data: bytes) -> None:
    """Write ``data`` to standard output as it is."""
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _write_records(records: Iterable[Record], chosen: Selection, *, flush: bool) -> None:
    """Write the records ``chosen`` selects (not the header) as JSON Lines, as they come
    (a batch at a time, or each at once when following)."""
    out = sys.stdout.buffer
    batch: list[bytes] = []
    for record in records:
        if record.get("type") != "header" and chosen(record):
            batch.append(encode_record(record))
            if flush or len(batch) >= BATCH:
                out.write(b"".join(batch))
                out.flush()
                batch.clear()
    out.write(b"".join(batch))
    out.flush()


def _quiet_stdout(reopen: Callable[[str, int], int] = os.open) -> None:
    devnull = reopen(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
