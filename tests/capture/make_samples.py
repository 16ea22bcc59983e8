"""Generate the golden sample captures in ``captures/samples`` from the codec.

Run ``python -m tests.capture.make_samples`` after changing a flow below; the test suite
checks that the committed files are exactly what this script writes. The flows follow
the reference (msnp.md c.1, c.2, c.4, c.5) with anonymised data: 127.0.0.1 addresses,
``example.com`` handles, secrets replaced by ``<redacted:...>`` placeholders as the proxy
writes them (those records carry ``"redacted": true``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from msmgr.codec import Command, Desync, Dialect, Direction, Framer, Passthrough, Unparsed
from msproxy.capture import CaptureWriter, Record, command_record
from msproxy.capture.records import (
    close_record,
    is_text,
    open_record,
    raw_record,
    rewrite_record,
    run_record,
)

SAMPLES = Path(__file__).resolve().parents[2] / "captures" / "samples"
TOOL = "msproxy 0.1.0"
STARTED = 1700000000.0

HASH = "<redacted:5e0c7d1a9b44>"
TICKET = "<redacted:a81f03b2c6d9>"
MSPAUTH = "<redacted:0d4be2917c3f>"


class Builder:
    """Turns per-connection wire bytes into capture records, as the proxy would."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.t = started
        self.version = 1  # the capture format version of the sample
        self.records: list[Record] = []
        self._framers: dict[tuple[int, Direction], Framer] = {}
        self._dialects: dict[int, Dialect] = {}

    def tick(self, ms: float) -> float:
        self.t = round(self.t + ms / 1000, 6)
        return self.t

    def open(
        self,
        conn: int,
        role: str,
        client: str,
        upstream: str,
        parent: int | None = None,
        via: str | None = None,
        ms: float = 1,
    ) -> None:
        self.records.append(
            open_record(
                conn,
                self.tick(ms),
                role=role,
                client=client,
                upstream=upstream,
                parent=parent,
                via=via,
            )
        )

    def c2s(self, conn: int, data: str | bytes, ms: float = 1, redacted: bool = False) -> None:
        self._wire(conn, Direction.C2S, data, ms, redacted)

    def s2c(self, conn: int, data: str | bytes, ms: float = 1, redacted: bool = False) -> None:
        self._wire(conn, Direction.S2C, data, ms, redacted)

    def _wire(
        self, conn: int, direction: Direction, data: str | bytes, ms: float, redacted: bool
    ) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        dialect = self._dialects.setdefault(conn, Dialect())
        framer = self._framers.setdefault(
            (conn, direction), Framer(direction, strict=False, dialect=dialect)
        )
        t = self.tick(ms)
        for event in framer.feed(raw):
            if isinstance(event, Command):
                record = command_record(conn, direction.value, event, t)
                if redacted:
                    record["redacted"] = True
                self.records.append(record)
            elif isinstance(event, Unparsed | Passthrough):
                unparsed = isinstance(event, Unparsed)
                data = event.raw if isinstance(event, Unparsed) else event.data
                reason = "unparsed" if unparsed else "passthrough"
                self.records.append(raw_record(conn, direction.value, data, reason, t))
            elif isinstance(event, Desync):  # pragma: no cover - samples stay in sync
                raise AssertionError(event)
        assert framer.pending == 0, f"incomplete command in sample data {raw!r}"

    def burst(self, conn: int, direction: Direction, data: bytes, ms: float = 1) -> None:
        """Commands read in one chunk, written as the proxy writes them in capture
        format version 2: a ``run`` record per stretch of text commands and per stretch
        of binary ones, a ``cmd`` record for a stretch of one command. (The samples use
        only ordinary commands here; ``test_samples`` holds this equal to the capture's
        scanners, Python and C.)"""
        framer = Framer(direction, strict=False)
        commands = framer.feed(data)
        assert framer.pending == 0
        assert all(isinstance(c, Command) for c in commands), commands
        t = self.tick(ms)
        stretches: list[tuple[bool, list[Command]]] = []
        for command in commands:
            assert isinstance(command, Command)
            assert command.raw is not None
            text = is_text(command.raw)
            if stretches and stretches[-1][0] == text:
                stretches[-1][1].append(command)
            else:
                stretches.append((text, [command]))
        for _, stretch in stretches:
            if len(stretch) == 1:
                self.records.append(command_record(conn, direction.value, stretch[0], t))
                continue
            data = b"".join(c.raw or b"" for c in stretch)
            self.records.append(run_record(conn, direction.value, data, len(stretch), t))

    def rewrite(
        self,
        conn: int,
        cmd: str,
        kind: str,
        original: str,
        new: str,
        cookie: str | None = None,
        sessid: str | None = None,
    ) -> None:
        """The proxy told the client ``new`` instead of ``original`` in the last XFR/RNG."""
        self.records.append(
            rewrite_record(
                conn,
                self.t,
                cmd=cmd,
                kind=kind,
                original=original,
                new=new,
                cookie=cookie,
                sessid=sessid,
            )
        )

    def close(self, conn: int, by: str, reason: str, ms: float = 1) -> None:
        self.records.append(close_record(conn, by, reason, self.tick(ms)))


def mime(content_type: str, body: str, *headers: str) -> str:
    """A MSG payload: MIME-Version, Content-Type, extra headers, blank line, body."""
    head = ["MIME-Version: 1.0", f"Content-Type: {content_type}", *headers]
    return "\r\n".join(head) + "\r\n\r\n" + body


def with_count(line: str, payload: str | bytes) -> bytes:
    """``line`` + the payload's byte count + CRLF + the payload."""
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return f"{line} {len(data)}\r\n".encode() + data


def profile(login_time: str, client_port: str) -> str:
    return mime(
        "text/x-msmsgsprofile; charset=UTF-8",
        "",
        f"LoginTime: {login_time}",
        "EmailEnabled: 0",
        "MemberIdHigh: 84097",
        "MemberIdLow: -1241365888",
        "lang_preference: 1033",
        "preferredEmail: alice@example.com",
        "country: US",
        "Kid: 0",
        "Flags: 1027",
        "sid: 507",
        "kv: 5",
        f"MSPAuth: {MSPAUTH}",
        "ClientIP: 127.0.0.1",
        f"ClientPort: {client_port}",
    )


def msnp2_md5_chat() -> Builder:
    """MSNP2: DS redirect, MD5 login, list sync, an outgoing and an incoming switchboard."""
    b = Builder(STARTED)
    ds, ns, sb_out, sb_in = 1, 2, 3, 4
    b.open(ds, "DS", "127.0.0.1:50001", "127.0.0.1:1863", ms=0)
    b.c2s(ds, "VER 1 MSNP2 CVR0\r\n", ms=2)
    b.s2c(ds, "VER 1 MSNP2\r\n", ms=12)
    b.c2s(ds, "INF 2\r\n", ms=1)
    b.s2c(ds, "INF 2 MD5\r\n", ms=10)
    b.c2s(ds, "USR 3 MD5 I alice@example.com\r\n", ms=1)
    b.s2c(ds, "XFR 3 NS 127.0.0.1:1864\r\n", ms=15)
    b.rewrite(ds, "XFR", "NS", "127.0.0.1:1864", "127.0.0.1:40001")
    b.close(ds, "client", "end of stream", ms=3)

    b.open(ns, "NS", "127.0.0.1:50002", "127.0.0.1:1864", parent=ds, via="XFR", ms=4)
    b.c2s(ns, "VER 4 MSNP2 CVR0\r\n", ms=0)
    b.s2c(ns, "VER 4 MSNP2\r\n", ms=11)
    b.c2s(ns, "INF 5\r\n", ms=1)
    b.s2c(ns, "INF 5 MD5\r\n", ms=9)
    b.c2s(ns, "USR 6 MD5 I alice@example.com\r\n", ms=1)
    b.s2c(ns, "USR 6 MD5 S 1013928519.693957190\r\n", ms=14)
    b.c2s(ns, f"USR 7 MD5 S {HASH}\r\n", ms=2, redacted=True)
    b.s2c(ns, "USR 7 OK alice@example.com Alice\r\n", ms=20)
    ns_profile = with_count("MSG Hotmail Hotmail", profile("1700000000", "50002"))
    b.s2c(ns, ns_profile, ms=1, redacted=True)
    b.c2s(ns, "SYN 8 0\r\n", ms=5)
    b.s2c(
        ns,
        "SYN 8 1\r\nGTC 8 1 A\r\nBLP 8 1 AL\r\n"
        "LST 8 FL 1 1 1 bob@example.com Bob\r\n"
        "LST 8 AL 1 1 1 bob@example.com Bob\r\n"
        "LST 8 BL 1 0 0\r\n"
        "LST 8 RL 1 1 1 bob@example.com Bob\r\n",
        ms=16,
    )
    b.c2s(ns, "CHG 9 NLN\r\n", ms=3)
    b.s2c(ns, "CHG 9 NLN\r\nILN 9 NLN bob@example.com Bob\r\n", ms=8)
    b.c2s(ns, "XFR 10 SB\r\n", ms=40)
    b.s2c(ns, "XFR 10 SB 127.0.0.1:1865 CKI 17262740.1050826919.32308\r\n", ms=18)
    b.rewrite(
        ns, "XFR", "SB", "127.0.0.1:1865", "127.0.0.1:40002", cookie="17262740.1050826919.32308"
    )

    b.open(sb_out, "SB", "127.0.0.1:50003", "127.0.0.1:1865", parent=ns, via="XFR", ms=3)
    b.c2s(sb_out, "USR 1 alice@example.com 17262740.1050826919.32308\r\n", ms=0)
    b.s2c(sb_out, "USR 1 OK alice@example.com Alice\r\n", ms=9)
    b.c2s(sb_out, "CAL 2 bob@example.com\r\n", ms=1)
    b.s2c(sb_out, "CAL 2 RINGING 11752013\r\n", ms=7)
    b.s2c(sb_out, "JOI bob@example.com Bob\r\n", ms=120)
    b.c2s(sb_out, "CAL 3 carol@example.com\r\n", ms=5)
    b.s2c(sb_out, "217 3\r\n", ms=6)
    hello = mime(
        "text/plain; charset=UTF-8", "Hello Bob, caf\u00e9?", "X-MMS-IM-Format: FN=Arial; EF=; CO=0"
    )
    b.c2s(sb_out, with_count("MSG 4 N", hello), ms=30)
    typing = mime("text/x-msmsgscontrol", "\r\n", "TypingUser: bob@example.com")
    b.s2c(sb_out, with_count("MSG bob@example.com Bob", typing), ms=200)
    b.s2c(sb_out, with_count("MSG bob@example.com Bob", mime("text/plain", "Hi Alice!")), ms=900)
    b.s2c(sb_out, "BYE bob@example.com\r\n", ms=1500)
    b.c2s(sb_out, "OUT\r\n", ms=10)
    b.close(sb_out, "client", "end of stream", ms=2)

    b.s2c(ns, "RNG 17342299 127.0.0.1:1865 CKI 1056411141.26158 bob@example.com Bob\r\n", ms=50)
    b.rewrite(
        ns,
        "RNG",
        "SB",
        "127.0.0.1:1865",
        "127.0.0.1:40002",
        cookie="1056411141.26158",
        sessid="17342299",
    )
    b.open(sb_in, "SB", "127.0.0.1:50004", "127.0.0.1:1865", parent=ns, via="RNG", ms=4)
    b.c2s(sb_in, "ANS 1 alice@example.com 1056411141.26158 17342299\r\n", ms=0)
    b.s2c(sb_in, "IRO 1 1 1 bob@example.com Bob\r\nANS 1 OK\r\n", ms=10)
    b.s2c(sb_in, with_count("MSG bob@example.com Bob", mime("text/plain", "Are you there?")), ms=3)
    b.c2s(sb_in, with_count("MSG 2 A", mime("text/plain", "Yes!")), ms=800)
    b.s2c(sb_in, "ACK 2\r\n", ms=9)
    b.c2s(sb_in, "OUT\r\n", ms=300)
    b.close(sb_in, "client", "end of stream", ms=2)

    b.c2s(ns, "PNG\n", ms=500)  # a bare LF, as some clients send
    b.s2c(ns, "QNG\r\n", ms=8)
    b.c2s(ns, "OUT\r\n", ms=20)
    b.s2c(ns, "OUT\r\n", ms=5)
    b.close(ns, "server", "end of stream", ms=1)
    return b


def msnp8_twn_login() -> Builder:
    """MSNP8: DS redirect, TWN (Passport 1.4) login, SYN burst, CHL/QRY, presence, logout."""
    b = Builder(STARTED + 3600)
    ds, ns = 1, 2
    cvr = "CVR {} 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0515 MSMSGS alice@example.com\r\n"
    cvr_reply = (
        "CVR {} 5.0.0537 5.0.0537 1.0.0863 http://download.example.com/setupdl.exe "
        "http://messenger.example.com\r\n"
    )
    b.open(ds, "DS", "127.0.0.1:51001", "127.0.0.1:1863", ms=0)
    b.c2s(ds, "VER 1 MSNP8 CVR0\r\n", ms=2)
    b.s2c(ds, "VER 1 MSNP8\r\n", ms=13)
    b.c2s(ds, cvr.format(2), ms=1)
    b.s2c(ds, cvr_reply.format(2), ms=11)
    b.c2s(ds, "USR 3 TWN I alice@example.com\r\n", ms=1)
    b.s2c(ds, "XFR 3 NS 127.0.0.1:1864 0 127.0.0.1:1863\r\n", ms=17)
    b.rewrite(ds, "XFR", "NS", "127.0.0.1:1864", "127.0.0.1:40001")
    b.close(ds, "client", "end of stream", ms=2)

    b.open(ns, "NS", "127.0.0.1:51002", "127.0.0.1:1864", parent=ds, via="XFR", ms=5)
    b.c2s(ns, "VER 4 MSNP8 CVR0\r\n", ms=0)
    b.s2c(ns, "VER 4 MSNP8\r\n", ms=12)
    b.c2s(ns, cvr.format(5), ms=1)
    b.s2c(ns, cvr_reply.format(5), ms=10)
    b.c2s(ns, "USR 6 TWN I alice@example.com\r\n", ms=1)
    b.s2c(
        ns,
        "USR 6 TWN S lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,"
        "ct=1700003600,kpp=1,kv=5,ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619\r\n",
        ms=15,
    )
    b.c2s(ns, f"USR 7 TWN S {TICKET}\r\n", ms=450, redacted=True)
    b.s2c(ns, "USR 7 OK alice@example.com Alice 1 0\r\n", ms=25)
    ns_profile = with_count("MSG Hotmail Hotmail", profile("1700003600", "51002"))
    b.s2c(ns, ns_profile, ms=1, redacted=True)
    b.c2s(ns, "SYN 8 0\r\n", ms=4)
    b.s2c(
        ns,
        "SYN 8 15 1 1\r\nGTC A\r\nBLP AL\r\nPRP PHH 555%20123\r\n"
        "LSG 0 Other%20Contacts 0\r\nLST bob@example.com Bob 11 0\r\nBPR MOB Y\r\n",
        ms=18,
    )
    b.c2s(ns, "CHG 9 NLN 268435492\r\n", ms=6)
    b.s2c(ns, "CHG 9 NLN 268435492\r\nILN 9 NLN bob@example.com Bob 268435492\r\n", ms=9)
    b.s2c(ns, "CHL 0 15570131571988941333\r\n", ms=30)
    b.c2s(ns, with_count("QRY 10 msmsgs@msnmsgr.com", "8f2f5a91b72102cd28355e9fc9000d6e"), ms=2)
    b.s2c(ns, "QRY 10\r\n", ms=11)
    b.c2s(ns, "PNG\r\n", ms=1000)
    b.s2c(ns, "QNG\r\n", ms=7)
    b.s2c(ns, "NLN AWY bob@example.com Bob 268435492\r\n", ms=600)
    b.s2c(ns, "FLN bob@example.com\r\n", ms=900)
    b.c2s(ns, "OUT\r\n", ms=100)
    b.close(ns, "client", "end of stream", ms=3)
    return b


def msnp12_sb_burst() -> Builder:
    """MSNP12, format version 2: a switchboard where both sides send bursts of commands
    (messages, typing, a P2P file-transfer block), kept in ``run`` records."""
    b = Builder(STARTED + 7200)
    b.version = 2
    sb = 1
    c2s, s2c = Direction.C2S, Direction.S2C
    b.open(sb, "SB", "127.0.0.1:52001", "127.0.0.1:1865", ms=0)
    b.c2s(sb, "USR 1 alice@example.com 17262740.1050826919.32308\r\n", ms=1)
    b.s2c(sb, "USR 1 OK alice@example.com Alice\r\n", ms=9)
    b.c2s(sb, "CAL 2 bob@example.com\r\n", ms=1)
    b.s2c(sb, "CAL 2 RINGING 11752013\r\nJOI bob@example.com Bob 1342210100\r\n", ms=40)
    typing = mime("text/x-msmsgscontrol", "", "TypingUser: alice@example.com")
    text = "X-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0"
    p2p_head = mime("application/x-msnmsgrp2p", "", "P2P-Dest: bob@example.com")
    block = bytes(48) + b"\x89PNG\r\n\x1a\n" + bytes(range(32)) + bytes(4)
    b.burst(
        sb,
        c2s,
        with_count("MSG 3 U", typing)
        + with_count("MSG 4 N", mime("text/plain; charset=UTF-8", "hi Bob, here it comes", text))
        + with_count("MSG 5 D", p2p_head.encode() + block)
        + with_count("MSG 6 D", p2p_head.encode() + block[::-1])
        + with_count("MSG 7 N", mime("text/plain; charset=UTF-8", "caf\u00e9 photo \u2615", text)),
        ms=900,
    )
    b.burst(
        sb,
        s2c,
        b"ACK 4\r\n"
        + with_count("MSG bob@example.com Bob", p2p_head.replace("bob@", "alice@").encode() + block)
        + b"ACK 7\r\n"
        + with_count("MSG bob@example.com Bob", typing.replace("alice@", "bob@"))
        + with_count("MSG bob@example.com Bob", mime("text/plain; charset=UTF-8", "got it", text)),
        ms=35,
    )
    b.c2s(sb, "OUT\r\n", ms=2000)
    b.close(sb, "client", "end of stream", ms=2)
    return b


SAMPLE_FLOWS: dict[str, Callable[[], Builder]] = {
    "msnp2-md5-chat.jsonl": msnp2_md5_chat,
    "msnp8-twn-login.jsonl": msnp8_twn_login,
    "msnp12-sb-burst.jsonl": msnp12_sb_burst,
}


def write_sample(name: str, directory: Path) -> Path:
    """Write sample ``name`` into ``directory`` (replacing it); return its path."""
    builder = SAMPLE_FLOWS[name]()
    path = directory / name
    path.unlink(missing_ok=True)
    with CaptureWriter(path, tool=TOOL, started=builder.started, version=builder.version) as writer:
        writer.write_many(builder.records)
    path.chmod(0o644)  # samples are public, unlike real captures (0600)
    return path


def main() -> int:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    for name in SAMPLE_FLOWS:
        print(write_sample(name, SAMPLES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
