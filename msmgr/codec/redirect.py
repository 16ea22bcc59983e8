"""msmgr/codec/redirect: find the address in XFR/RNG redirects and rewrite it in place.

The rewrite table (reference c.3-c.6), every form MSNP2-MSNP18, tokens counted from the
verb (0):

=========================================================  =====  ======  ======
line                                                        kind   addr    cookie
=========================================================  =====  ======  ======
``XFR trid NS host:port``                 (MSNP2)           NS     3       -
``XFR trid NS host:port 0[ cur:port]``    (MSNP3-12)        NS     3       -
``XFR trid NS host:port U D``             (MSNP13+)         NS     3       -
``XFR trid SB host:port CKI cookie[ U domain[ 1]]``         SB     3       5
``RNG sessid host:port CKI cookie handle name[ U dom[ 1]]`` SB     2       4
=========================================================  =====  ======  ======

Only the address token changes; every other byte of the line (spacing, the line end)
is kept, and these lines never carry a payload, so no byte count is disturbed. An NS
address of ``0`` means "start again on this server" and is not a redirect.
"""

from __future__ import annotations

from dataclasses import dataclass

from .command import Command


@dataclass(frozen=True, slots=True)
class RedirectInfo:
    """A redirect found in an upstream command: where it points and how to rewrite it."""

    kind: str  # "NS" or "SB"
    via: str  # "XFR" or "RNG"
    address: str  # the address token as sent, "host:port"
    token: int  # index of the address among the line's space-separated tokens
    cookie: str | None = None
    sessid: str | None = None


def find_redirect(command: Command) -> RedirectInfo | None:
    """The redirect ``command`` (sent by a server) carries, or None."""
    verb = command.verb
    if verb == "XFR":
        args = command.args
        if command.trid is None or len(args) < 2 or args[0] not in ("NS", "SB"):
            return None
        kind, address = args[0], args[1]
        if not address or address == "0":
            return None
        cookie = args[3] if kind == "SB" and len(args) >= 4 and args[2] == "CKI" else None
        return RedirectInfo(kind, "XFR", address, 3, cookie=cookie)
    if verb == "RNG":
        args = command.args
        if command.trid is not None:  # a codec that read the session id as a TrID
            args = (str(command.trid), *args)
        if len(args) < 2 or not args[1]:
            return None
        cookie = args[3] if len(args) >= 4 and args[2] == "CKI" else None
        return RedirectInfo("SB", "RNG", args[1], 2, cookie=cookie, sessid=args[0])
    return None


def replace_token(raw: bytes, token: int, new: bytes) -> bytes:
    """``raw`` (one line with its line end) with space-separated token ``token`` replaced."""
    end = raw.find(b"\n")
    if end < 0:
        end = len(raw)
    stop = end - 1 if end > 0 and raw[end - 1] == 0x0D else end
    parts = raw[:stop].split(b" ")
    if token >= len(parts):
        raise IndexError(f"line has no token {token}: {raw[:stop]!r}")
    parts[token] = new
    return b" ".join(parts) + raw[stop:]
