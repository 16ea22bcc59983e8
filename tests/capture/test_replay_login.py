"""``replay --as-client --password``: a redacted capture logs in live (MD5 hash, Passport
ticket); an error reply stops the replay at the step it answered."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from msmgr.client.passport import DEFAULT_NEXUS
from msmgr.codec import Command
from msmgr.codec.challenge import MSNP6_KEY, MSNP11_KEY, challenge_md5, challenge_msnp11
from msmgr.server import ServerAddresses
from msproxy.__main__ import main
from msproxy.inspect import load_capture, replay_as_client
from msproxy.inspect.replay import ReplayReport
from msproxy.inspect.replay_login import LiveChallenge

from .conftest import MD5_CHAT, TWN_LOGIN

PASSWORD = "alice-password"  # the reference server's demo account


def login_steps(path: Path, method: str) -> int:
    """How many steps the NS connection (2) of a sample takes up to its ``USR OK``."""
    count = 0
    for record in load_capture(path).commands(2):
        if record["dir"] == "c2s":
            count += 1
        args = record["args"]
        if record["dir"] == "c2s" and record["cmd"] == "USR" and args[:2] == [method, "S"]:
            return count
    raise AssertionError("no login answer in the sample")


async def replay_ns(
    server: ServerAddresses, path: Path, password: str | None, *, nexus: str = DEFAULT_NEXUS
) -> ReplayReport:
    """Replay the sample's NS connection (2) against the reference server's NS."""
    stream = await trio.open_tcp_stream(*server.ns)
    return await replay_as_client(
        load_capture(path), stream, conn=2, step_timeout=2, password=password, nexus_url=nexus
    )


@pytest.mark.parametrize(("sample", "method"), [(MD5_CHAT, "MD5"), (TWN_LOGIN, "TWN")])
async def test_the_password_logs_a_redacted_capture_in(
    reference_server: ServerAddresses, sample: Path, method: str
) -> None:
    report = await replay_ns(reference_server, sample, PASSWORD, nexus=reference_server.nexus_url)
    login = login_steps(sample, method)
    # The server accepted the login: its reply to the answer is USR OK (the friendly name
    # is this server's, not the sample's); the replay went on past it.
    at_login = [i for i in report.issues if i.step == login]
    assert any((i.got or "").startswith(f"USR {login} OK alice@example.com ") for i in at_login), (
        at_login
    )
    assert not [i for i in at_login if i.kind in ("error", "login")]
    assert max(i.step for i in report.issues) > login  # the replay went on past it


@pytest.mark.parametrize(("sample", "method"), [(MD5_CHAT, "MD5"), (TWN_LOGIN, "TWN")])
async def test_without_the_password_the_refusal_stops_the_replay_there(
    reference_server: ServerAddresses, sample: Path, method: str
) -> None:
    report = await replay_ns(reference_server, sample, None)
    issue = report.issues[-1]  # the last: nothing is reported after the stop
    assert (issue.kind, issue.step) == ("error", login_steps(sample, method))
    assert [i.kind for i in report.issues].count("error") == 1
    assert issue.got is not None
    assert issue.got.startswith("911 ")
    assert "stopped" in issue.detail
    assert issue.expected is not None
    assert issue.expected.startswith("USR ")


async def test_a_wrong_password_is_refused_at_the_login_step(
    reference_server: ServerAddresses,
) -> None:
    report = await replay_ns(reference_server, MD5_CHAT, "not-the-password")
    (issue,) = report.issues
    assert (issue.kind, issue.step) == ("error", login_steps(MD5_CHAT, "MD5"))
    assert (issue.got or "").startswith("911 ")


def test_password_goes_with_as_client(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(MD5_CHAT), "--as-server", "--password", "x"]) == 2
    assert "--password goes with --as-client" in capsys.readouterr().err


async def test_the_qry_answers_the_live_challenge(reference_server: ServerAddresses) -> None:
    """The sample's QRY answered the recorded CHL; the replay answers the live one, so
    the server does not close the session with 540."""
    report = await replay_ns(
        reference_server, TWN_LOGIN, PASSWORD, nexus=reference_server.nexus_url
    )
    assert not [i for i in report.issues if i.kind in ("error", "closed", "login")]
    qry = [i for i in report.issues if "QRY" in f"{i.expected} {i.got}"]
    assert qry == []


def test_live_challenge_answers_by_the_recorded_product_id() -> None:
    live = LiveChallenge()
    recorded = Command("QRY", 10, (MSNP6_KEY.product_id,), b"8f2f5a91b72102cd28355e9fc9000d6e")
    assert live.answer(recorded) is recorded  # no challenge seen yet
    live.saw_received(Command("CHL", 0, ("29409134351025259292",)))
    answered = live.answer(recorded)
    assert answered.payload == challenge_md5("29409134351025259292").encode("ascii")
    assert (answered.verb, answered.trid, answered.args) == ("QRY", 10, recorded.args)
    live.saw_received(Command("CHL", 0, ("123",)))
    msnp11 = live.answer(Command("QRY", 11, (MSNP11_KEY.product_id,), b"x" * 32))
    assert msnp11.payload == challenge_msnp11("123", MSNP11_KEY).encode("ascii")
    unknown = Command("QRY", 12, ("PRODUNKNOWN",), b"y" * 32)
    assert live.answer(unknown) is unknown
