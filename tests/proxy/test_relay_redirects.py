"""The sans-IO relay's redirects: every XFR/RNG form rewritten in place, nothing else."""

from __future__ import annotations

import pytest

from msproxy.proxy.commands import Log, RequestRedirect
from msproxy.proxy.events import DataReceived, RedirectReady, Side

from .relayutil import rebuilt, records, sent, started

# Every test here runs over both record paths (C fast path and pure Python).
pytestmark = pytest.mark.usefixtures("record_path")


REWRITES = [
    # (server line, kind, via, cookie, sessid, expected line to the client)
    (b"XFR 3 NS 10.0.0.5:1863\r\n", "NS", "XFR", None, None, b"XFR 3 NS 127.0.0.1:1863\r\n"),
    (b"XFR 3 NS 10.0.0.5:1863 0\r\n", "NS", "XFR", None, None, b"XFR 3 NS 127.0.0.1:1863 0\r\n"),
    (
        b"XFR 2 NS 207.46.106.145:1863 0 207.46.104.20:1863\r\n",
        "NS",
        "XFR",
        None,
        None,
        b"XFR 2 NS 127.0.0.1:1863 0 207.46.104.20:1863\r\n",
    ),
    (
        b"XFR 3 NS ns.example.com:1863 U D\r\n",
        "NS",
        "XFR",
        None,
        None,
        b"XFR 3 NS 127.0.0.1:1863 U D\r\n",
    ),
    (
        b"XFR 15 SB 207.46.108.37:1863 CKI 17262740.1050826919.32308\r\n",
        "SB",
        "XFR",
        "17262740.1050826919.32308",
        None,
        b"XFR 15 SB 127.0.0.1:1863 CKI 17262740.1050826919.32308\r\n",
    ),
    (
        b"XFR 15 SB 207.46.108.37:1863 CKI 1.2.3 U messenger.msn.com\r\n",
        "SB",
        "XFR",
        "1.2.3",
        None,
        b"XFR 15 SB 127.0.0.1:1863 CKI 1.2.3 U messenger.msn.com\r\n",
    ),
    (
        b"XFR 15 SB 207.46.108.37:1863 CKI 1.2.3 U messenger.msn.com 1\n",
        "SB",
        "XFR",
        "1.2.3",
        None,
        b"XFR 15 SB 127.0.0.1:1863 CKI 1.2.3 U messenger.msn.com 1\n",
    ),
    (
        b"RNG 17342299 207.46.108.78:1863 CKI 1056411141.26158 bob@x.com Bob\r\n",
        "SB",
        "RNG",
        "1056411141.26158",
        "17342299",
        b"RNG 17342299 127.0.0.1:1863 CKI 1056411141.26158 bob@x.com Bob\r\n",
    ),
    (
        b"RNG 17 sb.example.com:1864 CKI 9.9 bob@x.com Bob U messenger.hotmail.com 1\r\n",
        "SB",
        "RNG",
        "9.9",
        "17",
        b"RNG 17 127.0.0.1:1863 CKI 9.9 bob@x.com Bob U messenger.hotmail.com 1\r\n",
    ),
]


@pytest.mark.parametrize(("line", "kind", "via", "cookie", "sessid", "expected"), REWRITES)
def test_every_redirect_form_is_rewritten(
    line: bytes, kind: str, via: str, cookie: str | None, sessid: str | None, expected: bytes
) -> None:
    relay, _ = started()
    before, after = b"SYN 8 0\r\n", b"QNG\r\n"
    out = relay.handle(DataReceived(side=Side.UPSTREAM, data=before + line + after, t=5.0))
    assert sent(out, Side.CLIENT) == before
    request = out[-1]
    assert isinstance(request, RequestRedirect)
    original = line.rstrip(b"\r\n").split(b" ")[3 if via == "XFR" else 2].decode()
    assert (request.target, request.kind, request.via) == (original, kind, via)
    assert (request.cookie, request.sessid) == (cookie, sessid)
    assert relay.redirect_pending
    # More server data while waiting stays queued, in order.
    assert relay.handle(DataReceived(side=Side.UPSTREAM, data=b"NLN NLN a@b.c A\r\n")) == []
    out2 = relay.handle(RedirectReady(address="127.0.0.1:1863", t=5.0))
    assert sent(out2, Side.CLIENT) == expected + after + b"NLN NLN a@b.c A\r\n"
    recs = records(out) + records(out2)
    rewrite = next(r for r in recs if r["type"] == "rewrite")
    assert rewrite["original"] == original
    assert rewrite["new"] == "127.0.0.1:1863"
    assert rewrite["kind"] == kind
    # The capture keeps the line as received.
    assert rebuilt(recs, "s2c") == before + line + after + b"NLN NLN a@b.c A\r\n"


def test_two_redirects_in_one_chunk_both_rewritten() -> None:
    _relay, driver = started()
    data = b"XFR 1 SB 1.1.1.1:1 CKI a\r\nXFR 2 SB 2.2.2.2:2 CKI b\r\nQNG\r\n"
    driver.feed(Side.UPSTREAM, data)
    assert [r.cookie for r in driver.redirects] == ["a", "b"]
    assert sent(driver.log, Side.CLIENT) == (
        b"XFR 1 SB 127.0.0.1:1863 CKI a\r\nXFR 2 SB 127.0.0.1:1863 CKI b\r\nQNG\r\n"
    )


@pytest.mark.parametrize(
    "line", [b"XFR 3 NS 0\r\n", b"XFR 3 SB\r\n", b"XFR 3 XX 1.2.3.4:5\r\n", b"RNG 5\r\n"]
)
def test_non_redirects_pass_unchanged(line: bytes) -> None:
    relay, _ = started()
    out = relay.handle(DataReceived(side=Side.UPSTREAM, data=line))
    assert not any(isinstance(c, RequestRedirect) for c in out)
    assert sent(out, Side.CLIENT) == line


def test_client_xfr_request_is_not_a_redirect() -> None:
    _relay, driver = started()
    out = driver.feed(Side.CLIENT, b"XFR 9 SB\r\n")
    assert not any(isinstance(c, RequestRedirect) for c in out)
    assert sent(out, Side.UPSTREAM) == b"XFR 9 SB\r\n"


def test_refused_redirect_is_forwarded_unchanged_with_an_error() -> None:
    relay, _ = started()
    line = b"XFR 15 SB 1.2.3.4:1863 CKI c\r\n"
    relay.handle(DataReceived(side=Side.UPSTREAM, data=line))
    out = relay.handle(RedirectReady(address=None))
    assert sent(out, Side.CLIENT) == line
    assert [r["kind"] for r in records(out) if r["type"] == "error"] == ["rewrite"]


def test_refused_redirect_says_why_once() -> None:
    """The reason the router gave is in the error record and in the one console line."""
    relay, _ = started()
    line = b"XFR 15 SB 1.2.3.4:1863 CKI c\r\n"
    relay.handle(DataReceived(side=Side.UPSTREAM, data=line))
    out = relay.handle(RedirectReady(address=None, why="an SB redirect without a cookie"))
    (error,) = [r for r in records(out) if r["type"] == "error"]
    message = (
        "redirect to 1.2.3.4:1863 refused (an SB redirect without a cookie); forwarded unchanged"
    )
    assert error["message"] == message
    said = [c.msg % c.args for c in out if isinstance(c, Log)]
    assert said == [f"{relay.name} !! error rewrite (s2c): {message}"]
