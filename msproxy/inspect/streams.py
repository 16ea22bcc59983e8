"""msproxy/inspect/streams: rebuild the byte stream of one direction of one connection.

``cmd`` and ``raw`` records hold every byte the proxy read, in order, so concatenating
them per connection and direction gives back what the sender sent (secrets aside: a
``redacted`` record rebuilds with its placeholders). What the receiver got differs in two
ways only: a ``rewrite`` record changed the address token of the ``XFR``/``RNG`` command
just before it (server to client), and a ``raw`` record with ``"forwarded": false`` was
never passed on.
"""

from __future__ import annotations

from collections.abc import Iterable

from msproxy.capture import Record, rebuild


def rebuild_direction(
    records: Iterable[Record], conn: int, direction: str, *, as_received: bool = False
) -> bytes:
    """The bytes of ``direction`` (``"c2s"``/``"s2c"``) on connection ``conn``.

    Args:
        records: the capture's records, in order.
        conn: the connection id.
        direction: which way.
        as_received: False (default): the bytes as the sender sent them (what the proxy
            read). True: as the receiver got them (rewrites applied, unforwarded data out,
            and what ``fault`` records say was dropped or never sent left out).
    """
    parts: list[bytes] = []
    faults: list[Record] = []
    last_command: int | None = None  # index in parts of the last cmd of this direction
    for record in records:
        if record.get("conn") != conn or record.get("dir") != direction:
            continue
        kind = record.get("type")
        if kind == "cmd":
            last_command = len(parts)
            parts.append(rebuild(record))
        elif kind == "raw":
            if as_received and record.get("forwarded") is False:
                continue
            parts.append(rebuild(record))
        elif kind == "rewrite" and as_received and last_command is not None:
            parts[last_command] = _replace_address(
                parts[last_command], str(record.get("original")), str(record.get("new"))
            )
        elif kind == "fault" and as_received:
            faults.append(record)
    data = b"".join(parts)
    return _apply_faults(data, faults) if faults else data


def _apply_faults(data: bytes, faults: list[Record]) -> bytes:
    """``data`` (one direction, rewrites applied) as the receiver got it under ``faults``
    (capture-format.md, section 2.9): ``drop`` takes out ``size`` bytes at ``offset``;
    ``stall`` and ``reset`` end the bytes at ``offset``; ``cut`` ends them once ``after``
    bytes went on from ``offset``, dropped bytes not counted."""
    dropped = [
        (int(f.get("offset", 0)), int(f.get("offset", 0)) + int(f.get("size", 0)))
        for f in faults
        if f.get("action") == "drop"
    ]
    end = len(data)
    for fault in faults:
        action, offset = fault.get("action"), int(fault.get("offset", 0))
        if action in ("stall", "reset"):
            end = min(end, offset)
        elif action == "cut":
            end = min(end, _after(offset, int(fault.get("after", 0)), dropped))
    kept: list[bytes] = []
    position = 0
    for start, stop in sorted(dropped):
        kept.append(data[position : min(start, end)])
        position = max(position, stop)
    kept.append(data[position:end])
    return b"".join(kept)


def _after(offset: int, count: int, dropped: list[tuple[int, int]]) -> int:
    """Where ``count`` bytes that went on from ``offset`` end, skipping ``dropped``."""
    position = offset
    for start, stop in sorted(dropped):
        if stop <= position:
            continue
        if start - position >= count:
            break
        count -= max(0, start - position)
        position = max(position, stop)
    return position + count


def _replace_address(data: bytes, original: str, new: str) -> bytes:
    """``data`` with the first space-separated token equal to ``original`` replaced."""
    end = data.find(b"\n")
    line, rest = (data, b"") if end < 0 else (data[:end], data[end:])
    tokens = line.split(b" ")
    old = original.encode("utf-8")
    for index, token in enumerate(tokens):
        if token.rstrip(b"\r") == old:
            tokens[index] = new.encode("utf-8") + token[len(old) :]
            break
    return b" ".join(tokens) + rest
