"""Redaction finds every secret however its line is spaced, cased and split into chunks
(hypothesis), on both record paths, and never changes the bytes forwarded."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msproxy.proxy.events import Side
from msproxy.proxy.redact import Redactor
from msproxy.proxy.relay import Relay

from .relayutil import Driver, records, sent

# Every test here runs over both record paths (C fast path and pure Python).
pytestmark = pytest.mark.usefixtures("record_path")

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# A secret never occurs by chance elsewhere in a record: it starts with "Zz" (no verb,
# method, header or placeholder holds that) and has no blank or line end.
secrets = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=&!*$+/",
    min_size=6,
    max_size=40,
).map(lambda text: "Zz" + text)
blanks = st.text(alphabet=" ", min_size=1, max_size=3)
line_ends = st.sampled_from(["\r\n", "\n", " \r\n", "  \r\n"])


def cased(word: str) -> st.SearchStrategy[str]:
    """``word`` with each letter upper or lower case."""
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(
            c.upper() if u else c.lower() for c, u in zip(word, upper, strict=True)
        )
    )


def spaced(draw: st.DrawFn, tokens: list[str]) -> str:
    return "".join(token + draw(blanks) for token in tokens[:-1]) + tokens[-1]


@st.composite
def logins(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A client ``USR`` line carrying secrets (MD5, TWN, SSO, SHA), and its secrets."""
    method = draw(st.sampled_from(["MD5", "TWN", "SSO", "SHA"]))
    step = "A" if method == "SHA" else "S"
    hidden = [draw(secrets) for _ in range(2 if method == "SSO" else 1)]
    tokens = ["USR", str(draw(st.integers(0, 10**6))), draw(cased(method)), draw(cased(step))]
    tokens += hidden
    if method == "SSO" and draw(st.booleans()):
        tokens.append("{F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}")  # MSNP16+: no secret
    return (spaced(draw, tokens) + draw(line_ends)).encode(), hidden


@st.composite
def profiles(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A server ``MSG Hotmail Hotmail`` profile carrying MSPAuth (and maybe MSPProf)."""
    hidden = [draw(secrets)]
    headers = ["MIME-Version: 1.0", "Content-Type: text/x-msmsgsprofile; charset=UTF-8"]
    names = ["MSPAuth"] + (["MSPProf"] if draw(st.booleans()) else [])
    for name in names:
        if name == "MSPProf":
            hidden.append(draw(secrets))
        lead = draw(st.sampled_from(["", " ", "\t"]))
        before = draw(st.sampled_from(["", " ", "\t "]))
        after = draw(st.sampled_from(["", " ", "  ", "\t"]))
        headers.append(f"{lead}{draw(cased(name))}{before}:{after}{hidden[-1]}")
    headers.append("sid: 507")
    payload = ("\r\n".join(draw(st.permutations(headers))) + "\r\n\r\n").encode()
    line = spaced(draw, ["MSG", "Hotmail", "Hotmail"]) + f" {len(payload)}"
    return (line + draw(st.sampled_from(["\r\n", "\n"]))).encode() + payload, hidden


@st.composite
def chunked(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` cut in up to five chunks anywhere (the relay gets them one by one)."""
    cuts = sorted(set(draw(st.lists(st.integers(1, len(data) - 1), max_size=4))))
    return [data[a:b] for a, b in itertools.pairwise([0, *cuts, len(data)])]


def relayed(side: Side, chunks: list[bytes]) -> tuple[bytes, str]:
    """Feed ``chunks`` from ``side`` through a redacting relay (after ``VER``): the bytes
    forwarded, and every capture record of them as JSON text."""
    driver = Driver(Relay(1, client="127.0.0.1:1", redactor=Redactor()))
    driver.feed(Side.CLIENT, b"VER 1 MSNP8 CVR0\r\n")
    out = [command for chunk in chunks for command in driver.feed(side, chunk)]
    found = [r for r in records(out) if r["type"] in ("cmd", "run", "raw")]
    return sent(out, side.other), "\n".join(json.dumps(r) for r in found)


def check(side: Side, data: bytes, hidden: list[str], chunks: list[bytes]) -> None:
    forwarded, capture = relayed(side, chunks)
    assert forwarded == data
    assert '"redacted": true' in capture
    for secret in hidden:
        assert secret not in capture


@SETTINGS
@given(st.data())
def test_login_secrets_never_reach_the_capture(data: st.DataObject) -> None:
    line, hidden = data.draw(logins())
    check(Side.CLIENT, line, hidden, data.draw(chunked(line)))


@SETTINGS
@given(st.data())
def test_profile_secrets_never_reach_the_capture(data: st.DataObject) -> None:
    message, hidden = data.draw(profiles())
    check(Side.UPSTREAM, message, hidden, data.draw(chunked(message)))


@SETTINGS
@given(st.data())
def test_secrets_among_other_commands_never_reach_the_capture(data: st.DataObject) -> None:
    """A secret-bearing command between ordinary ones in one chunk (the fast path frames
    the ordinary ones in runs and must stop at it)."""
    line, hidden = data.draw(logins())
    before = b"CHG 3 NLN 0\r\nPNG\r\n"
    stream = before + line + b"SYN 9 0\r\n"
    check(Side.CLIENT, stream, hidden, data.draw(chunked(stream)))
    message, hidden = data.draw(profiles())
    before = b"NLN NLN bob@x.com Bob 0\r\nQNG 50\r\n"
    stream = before + message + b"ILN 9 NLN a@x.com A 0\r\n"
    check(Side.UPSTREAM, stream, hidden, data.draw(chunked(stream)))
