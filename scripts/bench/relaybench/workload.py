"""The traffic the relay benchmark pushes through each relay: MSNP command mixes, one
per direction, shaped like a busy switchboard (text, typing, P2P data, presence)."""

from __future__ import annotations

TEXT = (
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
    b"X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nhello, how are you today?"
)
TYPING = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: a@b.com\r\n\r\n"
P2P = b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\n" + bytes(1250)


def command_mix(count: int) -> tuple[bytes, int]:
    """``count`` client commands: messages, typing, P2P, PNG, CHG, SB USR/CAL."""
    parts = []
    for i in range(count):
        trid = i + 1
        kind = i % 10
        if kind < 4:
            parts.append(b"MSG %d N %d\r\n%s" % (trid, len(TEXT), TEXT))
        elif kind < 6:
            parts.append(b"MSG %d U %d\r\n%s" % (trid, len(TYPING), TYPING))
        elif kind == 6:
            parts.append(b"MSG %d D %d\r\n%s" % (trid, len(P2P), P2P))
        elif kind == 7:
            parts.append(b"PNG\r\n")
        elif kind == 8:
            parts.append(b"CHG %d NLN 268435492\r\n" % trid)
        else:
            parts.append(b"CAL %d bob@example.com\r\n" % trid)
    return b"".join(parts), count


def server_mix(count: int) -> tuple[bytes, int]:
    """``count`` server commands: switchboard messages, typing, P2P, presence, JOI, ACK."""
    parts = []
    for i in range(count):
        kind = i % 10
        if kind < 4:
            parts.append(b"MSG bob@example.com Bob %d\r\n%s" % (len(TEXT), TEXT))
        elif kind < 6:
            parts.append(b"MSG bob@example.com Bob %d\r\n%s" % (len(TYPING), TYPING))
        elif kind == 6:
            parts.append(b"MSG bob@example.com Bob %d\r\n%s" % (len(P2P), P2P))
        elif kind == 7:
            parts.append(b"NLN NLN bob@example.com Bob 268435492\r\n")
        elif kind == 8:
            parts.append(b"JOI carol@example.com Carol\r\n")
        else:
            parts.append(b"ACK %d\r\n" % (i + 1))
    return b"".join(parts), count
