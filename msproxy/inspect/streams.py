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
            read). True: as the receiver got them (rewrites applied, unforwarded data out).
    """
    parts: list[bytes] = []
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
    return b"".join(parts)


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
