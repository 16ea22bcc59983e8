"""msproxy/view/names: how a connection is named in every view (console, show, summary)."""

from __future__ import annotations


def connection_name(role: str | None, conn: int) -> str:
    """``DS#1``, ``NS#2``, ``SB#5``: the role and the connection id, as the live console says
    it (so ``msproxy show --conn 5`` finds ``SB#5``); ``#7`` while the role is unknown."""
    return f"{role or ''}#{conn}"
