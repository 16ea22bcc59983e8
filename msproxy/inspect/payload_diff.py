"""msproxy/inspect/payload_diff: a line-level unified diff of two payloads.

Used by ``diff`` when two aligned commands differ only in their payload. The payloads
are compared line by line after ``normalize_payload`` (volatile MIME headers such as
``LoginTime``, ``sid``, ``kv``, ``ClientIP``, ``ClientPort``, ``MSPAuth``, ``Message-ID``
replaced under the ignore rules), and the differing lines are shown as they were.

A payload whose MIME head is text but whose body is binary (P2P data) is diffed by its
head, the body standing as one ``[binary N bytes sha256:...]`` line; a payload that is not
text at all has no line diff (``None``: the caller keeps the digest).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from difflib import SequenceMatcher

from msproxy.view.payload import is_text

from .normalize import DEFAULT_IGNORE, normalize_payload

_SEPARATOR = b"\r\n\r\n"


def payload_lines(payload: bytes, ignore: Iterable[str] = ()) -> list[str] | None:
    """The lines of ``payload`` as compared (under ``ignore``), or None when not text.

    Line ends stay on the lines (so a CRLF/LF difference is a difference); a binary body
    after a text MIME head becomes one digest line.
    """
    rules = frozenset(ignore)
    if is_text(payload):
        return normalize_payload(payload, rules).decode("utf-8").splitlines(keepends=True)
    head, separator, body = payload.partition(_SEPARATOR)
    if not separator or not is_text(head + separator):
        return None
    lines = normalize_payload(head + separator, rules).decode("utf-8").splitlines(keepends=True)
    digest = hashlib.sha256(body).hexdigest()[:12]
    return [*lines, f"[binary {len(body)} bytes sha256:{digest}]"]


def show(line: str) -> str:
    """A payload line for display: CRLF dropped, any other line end made visible."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith("\n"):
        return line[:-1] + "\\n"
    if line.endswith("\r"):
        return line[:-1] + "\\r"
    return line


def payload_diff(
    a: bytes, b: bytes, ignore: Iterable[str] = DEFAULT_IGNORE, context: int = 3
) -> list[str] | None:
    """Unified-diff lines (``@@ -a,n +b,m @@``, `` ``/``-``/``+`` lines) from payload ``a``
    to payload ``b``, compared under ``ignore``; [] when equal under it, None when either
    is not text (keep the digest)."""
    rules = frozenset(ignore)
    a_keys, b_keys = payload_lines(a, rules), payload_lines(b, rules)
    if a_keys is None or b_keys is None:
        return None
    # what is shown: the original lines (normalisation keeps the line structure)
    a_show = payload_lines(a) or a_keys
    b_show = payload_lines(b) or b_keys
    if len(a_show) != len(a_keys) or len(b_show) != len(b_keys):  # pragma: no cover - defensive
        a_show, b_show = a_keys, b_keys
    out: list[str] = []
    matcher = SequenceMatcher(None, a_keys, b_keys, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(
            f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + show(line) for line in a_show[i1:i2])
                continue
            out.extend("-" + show(line) for line in a_show[i1:i2])
            out.extend("+" + show(line) for line in b_show[j1:j2])
    return out
