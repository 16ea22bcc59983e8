"""Wire cases for the framer: every command form of msnp.md b.3, both directions, MSNP2-18.

Each case is (direction, version, wire bytes, verb, trid, args, payload). ``version`` is
the negotiated MSNP version the framer knows (None: unknown, as on a switchboard).
"""

from __future__ import annotations

from typing import NamedTuple

from msmgr.codec import Direction

C2S = Direction.C2S
S2C = Direction.S2C

P2P_BINARY = (
    b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n"
    b"P2P-Dest: bob@example.com\r\n\r\n"
    + bytes(range(48))
    + b"\x00\xff\r\n\xfe\n\x00 MSG 1 N 3\r\n"
    + b"\x00\x00\x00\x01"
)
PROFILE = (
    b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n"
    b"LoginTime: 1056411141\r\nMSPAuth: 7Ab0aDT...$$\r\nClientIP: 127.0.0.1\r\n\r\n"
)
TEXT_MSG = (
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
    "X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nhéllo wörld ✓"
).encode()


class Case(NamedTuple):
    direction: Direction
    version: int | None
    wire: bytes
    verb: str
    trid: int | None
    args: tuple[str, ...]
    payload: bytes | None


def case(
    direction: Direction,
    version: int | None,
    line: str,
    trid: int | None,
    args: tuple[str, ...] | str,
    payload: bytes | None = None,
) -> Case:
    """A case whose wire form is ``line`` + CRLF + payload (the count appended if payload)."""
    if isinstance(args, str):
        args = tuple(args.split(" ")) if args else ()
    text = line + (f" {len(payload)}" if payload is not None else "") + "\r\n"
    wire = text.encode() + (payload or b"")
    return Case(direction, version, wire, line.split(" ")[0], trid, args, payload)


CASES: list[Case] = [
    # -- login, MSNP2-7 (MD5) ------------------------------------------------------
    case(C2S, None, "VER 1 MSNP8 MSNP7 MSNP2 CVR0", 1, "MSNP8 MSNP7 MSNP2 CVR0"),
    case(S2C, None, "VER 1 MSNP2", 1, "MSNP2"),
    case(S2C, None, "VER 1 0", 1, "0"),
    case(C2S, 2, "INF 2", 2, ""),
    case(S2C, 2, "INF 2 MD5", 2, "MD5"),
    case(
        C2S,
        7,
        "CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0515 MSMSGS",
        2,
        "0x0409 winnt 5.1 i386 MSNMSGR 5.0.0515 MSMSGS",
    ),
    case(C2S, 2, "USR 3 MD5 I alice@example.com", 3, "MD5 I alice@example.com"),
    case(S2C, 2, "XFR 3 NS 10.0.0.5:1863", 3, "NS 10.0.0.5:1863"),
    case(S2C, 5, "XFR 3 NS 10.0.0.5:1863 0", 3, "NS 10.0.0.5:1863 0"),
    case(
        S2C,
        7,
        "XFR 2 NS 207.46.106.145:1863 0 207.46.104.20:1863",
        2,
        "NS 207.46.106.145:1863 0 207.46.104.20:1863",
    ),
    case(S2C, 13, "XFR 2 NS 207.46.106.145:1863 U D", 2, "NS 207.46.106.145:1863 U D"),
    case(S2C, 2, "USR 6 MD5 S 1013928519.693957190", 6, "MD5 S 1013928519.693957190"),
    case(
        C2S,
        2,
        "USR 7 MD5 S 0c4f44aece9cd34af866b6eff86c1e35",
        7,
        "MD5 S 0c4f44aece9cd34af866b6eff86c1e35",
    ),
    case(S2C, 2, "USR 7 OK alice@example.com Alice", 7, "OK alice@example.com Alice"),
    case(S2C, 7, "USR 7 OK alice@example.com Alice 1", 7, "OK alice@example.com Alice 1"),
    case(S2C, 2, "MSG Hotmail Hotmail", None, "Hotmail Hotmail", PROFILE),
    # -- list sync -----------------------------------------------------------------
    case(C2S, 2, "SYN 8 0", 8, "0"),
    case(S2C, 2, "SYN 8 12", 8, "12"),
    case(S2C, 8, "SYN 8 15 1 1", 8, "15 1 1"),
    case(S2C, 2, "GTC 8 12 A", 8, "12 A"),
    case(S2C, 8, "GTC A", None, "A"),
    case(S2C, 2, "BLP 8 12 AL", 8, "12 AL"),
    case(S2C, 8, "BLP AL", None, "AL"),
    case(S2C, 7, "PRP 8 12 PHH 555%20123", 8, "12 PHH 555%20123"),
    case(S2C, 8, "PRP PHH 555%20123", None, "PHH 555%20123"),
    case(S2C, 7, "LSG 8 12 1 2 0 Other%20Contacts 0", 8, "12 1 2 0 Other%20Contacts 0"),
    case(S2C, 8, "LSG 0 Other%20Contacts 0", None, "0 Other%20Contacts 0"),
    case(S2C, 2, "LST 8 FL 12 1 3 bob@example.com Bob 0", 8, "FL 12 1 3 bob@example.com Bob 0"),
    case(S2C, 8, "LST bob@example.com Bob 11 0", None, "bob@example.com Bob 11 0"),
    case(S2C, 7, "BPR 12 bob@example.com PHH 555", None, "12 bob@example.com PHH 555"),
    case(S2C, 8, "BPR MOB Y", None, "MOB Y"),
    case(
        C2S,
        2,
        "ADD 10 FL bob@example.com bob@example.com",
        10,
        "FL bob@example.com bob@example.com",
    ),
    case(
        S2C,
        2,
        "ADD 10 FL 13 bob@example.com bob@example.com 0",
        10,
        "FL 13 bob@example.com bob@example.com 0",
    ),
    case(S2C, 2, "ADD 0 RL 14 carol@example.com Carol", 0, "RL 14 carol@example.com Carol"),
    case(S2C, 2, "REM 0 RL 16 carol@example.com", 0, "RL 16 carol@example.com"),
    case(C2S, 2, "REA 12 alice@example.com New%20Name", 12, "alice@example.com New%20Name"),
    case(S2C, 7, "ADG 20 18 Friends 1 0", 20, "18 Friends 1 0"),
    case(C2S, 10, "ADC 16 FL N=carol@example.com F=Carol", 16, "FL N=carol@example.com F=Carol"),
    case(
        C2S,
        2,
        "SND 10 carol@example.com 0x0409 MSMSGS MSMSGS",
        10,
        "carol@example.com 0x0409 MSMSGS MSMSGS",
    ),
    case(
        S2C,
        2,
        "URL 13 /cgi-bin/HoTMaiL https://example.com/ 2",
        13,
        "/cgi-bin/HoTMaiL https://example.com/ 2",
    ),
    # -- presence ------------------------------------------------------------------
    case(C2S, 8, "CHG 9 NLN 268435492", 9, "NLN 268435492"),
    case(S2C, 8, "CHG 9 NLN 268435492", 9, "NLN 268435492"),
    case(S2C, 8, "ILN 9 NLN bob@example.com Bob 268435492", 9, "NLN bob@example.com Bob 268435492"),
    case(
        S2C, 8, "NLN AWY bob@example.com Bob 268435492", None, "AWY bob@example.com Bob 268435492"
    ),
    case(S2C, 2, "FLN bob@example.com", None, "bob@example.com"),
    case(S2C, 14, "FLN bob@example.com 1", None, "bob@example.com 1"),
    # -- payload commands, NS --------------------------------------------------------
    case(S2C, 5, "NOT", None, "", b'<NOTIFICATION ver="1" id="1"></NOTIFICATION>'),
    case(S2C, 6, "IPG", None, "", b"<TEXT>pager</TEXT>"),
    case(C2S, 5, "PAG 1 carol@example.com", 1, "carol@example.com", b"<TEXT xml:space>hi</TEXT>"),
    case(C2S, 9, "PGD 5 carol@example.com 1", 5, "carol@example.com 1", b"<TEXT>hi</TEXT>"),
    case(S2C, 6, "CHL 0 15570131571988941333", 0, "15570131571988941333"),
    case(
        C2S,
        8,
        "QRY 10 msmsgs@msnmsgr.com",
        10,
        "msmsgs@msnmsgr.com",
        b"8f2f5a91b72102cd28355e9fc9000d6e",
    ),
    case(S2C, 8, "QRY 10", 10, ""),
    case(C2S, 2, "PNG", None, ""),
    case(S2C, 2, "QNG", None, ""),
    case(S2C, 9, "QNG 50", None, "50"),
    case(C2S, 2, "OUT", None, ""),
    case(S2C, 2, "OUT OTH", None, "OTH"),
    case(C2S, 11, "UUX 10", 10, "", b"<Data><PSM>hi</PSM><CurrentMedia></CurrentMedia></Data>"),
    case(S2C, 11, "UUX 10", 10, "", b""),
    case(S2C, 8, "UUX 0", 0, "", b""),
    case(S2C, 11, "UBX bob@example.com", None, "bob@example.com", b"<Data><PSM>yo</PSM></Data>"),
    case(S2C, 14, "UBX bob@example.com 1", None, "bob@example.com 1", b"<Data></Data>"),
    case(S2C, 18, "UBX 1:bob@example.com", None, "1:bob@example.com", b"<Data></Data>"),
    case(C2S, 11, "GCF 3 Shields.xml", 3, "Shields.xml"),
    case(S2C, 11, "GCF 3 Shields.xml", 3, "Shields.xml", b'<?xml version="1.0"?><config/>'),
    case(S2C, 13, "GCF 0", 0, "", b"<Policies></Policies>"),
    case(S2C, 11, "SBS 0 null", 0, "null"),
    case(
        C2S, 13, "ADL 6", 6, "", b'<ml l="1"><d n="example.com"><c n="bob" l="3" t="1"/></d></ml>'
    ),
    case(S2C, 13, "ADL 6 OK", 6, "OK"),
    case(S2C, 13, "ADL 0", 0, "", b'<ml><d n="example.com"><c n="bob" l="8" t="1"/></d></ml>'),
    case(C2S, 13, "RML 7", 7, "", b"<ml></ml>"),
    case(S2C, 13, "RML 7 OK", 7, "OK"),
    case(C2S, 13, "FQY 10", 10, "", b'<ml l="2"><d n="example.com"><c n="bob"/></d></ml>'),
    case(S2C, 13, "FQY 10", 10, "", b'<ml><d n="example.com"><c n="bob" t="1"/></d></ml>'),
    case(C2S, 13, "UUN 12 carol@example.com 1", 12, "carol@example.com 1", b"<SNM/>"),
    case(S2C, 13, "UUN 12 OK", 12, "OK"),
    case(S2C, 13, "UBN carol@example.com 1", None, "carol@example.com 1", b"<SNM/>"),
    case(C2S, 14, "UUM 9 carol@yahoo.example 32 1", 9, "carol@yahoo.example 32 1", b"hi yahoo"),
    case(S2C, 14, "UBM carol@yahoo.example 32 1", None, "carol@yahoo.example 32 1", b"hi"),
    case(C2S, 21, "SDG 5", 5, "", b"Routing: 1.0\r\n\r\nReliability: 1.0\r\n\r\n"),
    case(S2C, 21, "NFY PUT", None, "PUT", b"Routing: 1.0\r\n\r\n"),
    case(C2S, 21, "PUT 6", 6, "", b"Routing: 1.0\r\n\r\n"),
    case(C2S, 21, "DEL 7", 7, "", b"Routing: 1.0\r\n\r\n"),
    # -- errors --------------------------------------------------------------------
    case(S2C, 2, "217 3", 3, ""),
    case(S2C, 8, "911 7", 7, ""),
    case(S2C, 13, "241 8", 8, "", b'<ml><d n="example.com"></d></ml>'),
    case(S2C, None, "508 9", 9, "", b"<xml/>"),
    # -- switchboard (no VER: version unknown) ---------------------------------------
    case(
        S2C,
        8,
        "XFR 15 SB 207.46.108.37:1863 CKI 17262740.1050826919.32308",
        15,
        "SB 207.46.108.37:1863 CKI 17262740.1050826919.32308",
    ),
    case(
        S2C,
        14,
        "XFR 15 SB 207.46.108.37:1863 CKI 17262740.1 U messenger.msn.com 1",
        15,
        "SB 207.46.108.37:1863 CKI 17262740.1 U messenger.msn.com 1",
    ),
    case(
        S2C,
        8,
        "RNG 17342299 207.46.108.78:1863 CKI 1056411141.26158 bob@example.com Bob",
        None,
        "17342299 207.46.108.78:1863 CKI 1056411141.26158 bob@example.com Bob",
    ),
    case(
        S2C,
        14,
        "RNG 1734 sb.example.com:1863 CKI 105.26 bob@example.com Bob U m.example 1",
        None,
        "1734 sb.example.com:1863 CKI 105.26 bob@example.com Bob U m.example 1",
    ),
    case(
        C2S,
        None,
        "USR 1 alice@example.com 17262740.1050826919.32308",
        1,
        "alice@example.com 17262740.1050826919.32308",
    ),
    case(S2C, None, "USR 1 OK alice@example.com Alice", 1, "OK alice@example.com Alice"),
    case(
        C2S,
        None,
        "ANS 1 alice@example.com 1056411141.26158 17342299",
        1,
        "alice@example.com 1056411141.26158 17342299",
    ),
    case(
        C2S,
        16,
        "ANS 1 alice@example.com;{f52973b6-c926-4bad-9ba8-7c1e840e4ab0} 1.2 17",
        1,
        "alice@example.com;{f52973b6-c926-4bad-9ba8-7c1e840e4ab0} 1.2 17",
    ),
    case(S2C, None, "IRO 1 1 2 bob@example.com Bob", 1, "1 2 bob@example.com Bob"),
    case(
        S2C, 12, "IRO 1 1 2 bob@example.com Bob 1342177280", 1, "1 2 bob@example.com Bob 1342177280"
    ),
    case(S2C, None, "ANS 1 OK", 1, "OK"),
    case(C2S, None, "CAL 2 bob@example.com", 2, "bob@example.com"),
    case(S2C, None, "CAL 2 RINGING 11752013", 2, "RINGING 11752013"),
    case(S2C, None, "JOI carol@example.com Carol", None, "carol@example.com Carol"),
    case(
        S2C,
        12,
        "JOI carol@example.com Carol 1342177280",
        None,
        "carol@example.com Carol 1342177280",
    ),
    case(C2S, None, "MSG 3 N", 3, "N", TEXT_MSG),
    case(C2S, None, "MSG 4 A", 4, "A", TEXT_MSG),
    case(C2S, 9, "MSG 5 D", 5, "D", P2P_BINARY),
    case(S2C, None, "MSG bob@example.com Bob", None, "bob@example.com Bob", TEXT_MSG),
    case(S2C, 9, "MSG bob@example.com Bob", None, "bob@example.com Bob", P2P_BINARY),
    case(S2C, None, "MSG bob@example.com Bob", None, "bob@example.com Bob", b""),
    case(S2C, None, "ACK 4", 4, ""),
    case(S2C, None, "NAK 3", 3, ""),
    case(S2C, None, "BYE carol@example.com", None, "carol@example.com"),
    case(S2C, None, "BYE carol@example.com 1", None, "carol@example.com 1"),
]
