"""Hypothesis strategies for MSNP byte streams: mostly commands, some of every oddity.

Used by the tests that hold a C fast path equal to the Python framer (tests/codec and
tests/capture): lines with zero-padded or huge numbers, double spaces, bare LF, quotes,
backslashes, control and non-ASCII characters, verbs that are not verbs, payloads of
text, binary and malformed UTF-8, and lines that are not commands at all.
"""

from __future__ import annotations

from hypothesis import strategies as st

from msmgr.codec import Direction
from msmgr.codec.tables import PAYLOAD_VERBS

C2S, S2C = Direction.C2S, Direction.S2C

VERBS = [
    *sorted(PAYLOAD_VERBS[C2S] | PAYLOAD_VERBS[S2C]),
    "USR",
    "XFR",
    "RNG",
    "VER",
    "LSG",
    "NLN",
    "CHG",
    "PNG",
    "QNG",
    "OUT",
    "CAL",
    "JOI",
    "BYE",
    "ACK",
    "SYN",
    "911",
    "241",
    "Msg",
    "MS",
    "M5G",
    "ABCD",
]
TOKEN_CHARS = st.sampled_from(
    [*"abcXYZ019@.=-_%$!*&\"\\/{}:;,'<>", "\t", "\x01", "\x7f", "é", "✓", "\udcff"]
)
TOKEN = st.one_of(
    st.text(TOKEN_CHARS, min_size=0, max_size=8),
    st.from_regex(r"\A0*[0-9]{1,20}\Z"),  # TrIDs and counts, zero-padded or huge
    st.sampled_from(["Hotmail", "Hotmailx", "MD5", "TWN", "S", "N", "SB", "NS"]),
)
PAYLOAD = st.one_of(
    st.binary(max_size=80),
    st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")),
    # mostly plain text with the bytes that need escaping or make it binary, anywhere
    st.text(
        st.sampled_from([*"abcdefghijklmnopqrst ", '"', "\\", "\r", "\n", "\t", "é", "\x00"]),
        max_size=40,
    ).map(lambda s: s.encode("utf-8")),
    st.sampled_from(
        [
            b'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi "there" \\ o/',
            b"\xed\xa0\x80",  # an encoded surrogate: not UTF-8
            b"\xc0\xaf",  # overlong
            b"\xf4\x90\x80\x80",  # above U+10FFFF
            b"\xf0\x9f\x98\x80",  # U+1F600
            b"\xe0\xa0\x80\xef\xbf\xbf",  # U+0800, U+FFFF
            b"",
            b"a",
            b"ab",
            b"abc",
        ]
    ),
)


@st.composite
def stream(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.integers(0, 12)) == 0:
            parts.append(draw(st.sampled_from([b"garbage line\r\n", b"\r\n", b"x\n", b" \r\n"])))
            continue
        verb = draw(st.sampled_from(VERBS))
        tokens = draw(st.lists(TOKEN, max_size=5))
        sep = " " if draw(st.integers(0, 9)) else "  "
        line = sep.join([verb, *tokens]).encode("utf-8", "surrogateescape")
        payload = None
        if draw(st.booleans()):
            payload = draw(PAYLOAD)
            count = str(len(payload)).encode()
            if draw(st.integers(0, 9)) == 0:
                count = b"0" + count
            line += b" " + count
        parts.append(line + (b"\r\n" if draw(st.integers(0, 9)) else b"\n"))
        if payload is not None:
            parts.append(payload)
    return b"".join(parts)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    pieces, last = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[last:point])
        last = point
    return [p for p in pieces if p] or [b""]
