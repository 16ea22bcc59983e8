"""msproxy/view/names: how a connection is named in every view (console, show, summary)."""

from __future__ import annotations

import re

_CONN_NAME = re.compile(r"(?:(DS|NS|SB|)#)?([0-9]+)", re.IGNORECASE)


def connection_name(role: str | None, conn: int) -> str:
    """``DS#1``, ``NS#2``, ``SB#5``: the role and the connection id, as the live console says
    it (so ``msproxy show --conn 5`` finds ``SB#5``); ``#7`` while the role is unknown."""
    return f"{role or ''}#{conn}"


def parse_conn(text: str) -> tuple[int, str | None]:
    """A connection as the user names it: an id (``52``) or the name the views print
    (``SB#52``, ``#7``), as ``(id, role)``: the role upper-cased, None when not given.

    Raises:
        ValueError: neither a number nor a ``ROLE#number`` name.
    """
    match = _CONN_NAME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"connection ids or names (52, SB#52, #7), not {text.strip()!r}")
    role = match.group(1)
    return int(match.group(2)), role.upper() if role else None
