"""The pytest plugin as a user meets it: test files run by pytester, in-process.

The upstream is a reference server this test runs on a thread of its own
(``BackgroundLoop``) and names with ``--msnp-upstream``, so that it can be stopped
between a recording run and a replaying one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msmgr.server import DEMO_USERS
from msproxy.fixtures import BackgroundLoop, MsnpServer, open_reference_server

CONFIG = """
[pytest]
trio_mode = true
addopts = --strict-markers -p no:cacheprovider
filterwarnings = error
"""

SYNC_CLIENT = """
import subprocess
import sys

import pytest


@pytest.mark.msnp_cassette(step_timeout=1)
def test_contacts(msnp_cassette):
    assert msnp_cassette.recording is {recording}
    subprocess.run(
        [sys.executable, "-m", "msmgr", "contacts", "--server", msnp_cassette.address,
         "--user", "alice@example.com", "--password", "alice-password",
         "--protocol", "{protocol}", "--timeout", "5", "-q"],
        check=True, timeout=20,
    )
"""

TRIO_CLIENT = """
import pytest
import trio
from msmgr.client import open_session


@pytest.mark.msnp_cassette("login")
async def test_login(msnp_cassette):
    assert msnp_cassette.recording is {recording}
    answered = trio.Event()  # the server's challenge (after the first CHG), answered
    async with open_session(
        "bob@example.com", "bob-password", server=msnp_cassette.address, protocol={protocol},
        nexus_url=msnp_cassette.nexus_url,
    ) as session:
        session.add_handler(lambda command: answered.set(), "QRY")
        await session.set_state("{state}")
        with trio.fail_after(5):
            await answered.wait()  # so that OUT always comes after QRY
"""


@pytest.fixture
def upstream() -> Iterator[tuple[MsnpServer, BackgroundLoop]]:
    """A reference server on its own loop: (the server, the loop to stop it in)."""
    loop = BackgroundLoop()
    try:
        server, leave = loop.enter(open_reference_server(DEMO_USERS))
        yield server, loop
        leave()
    finally:
        loop.close()


def _cassette(pytester: pytest.Pytester, module: str, name: str) -> Path:
    return pytester.path / "tests" / "cassettes" / module / f"{name}.jsonl"


def test_sync_cassette_recorded_then_replayed_with_the_server_stopped(
    pytester: pytest.Pytester, upstream: tuple[MsnpServer, BackgroundLoop]
) -> None:
    server, loop = upstream
    pytester.makeini(CONFIG)
    pytester.makepyfile(test_client=SYNC_CLIENT.format(recording=True, protocol="MSNP7"))
    pytester.runpytest_inprocess(f"--msnp-upstream={server.address}").assert_outcomes(passed=1)
    assert _cassette(pytester, "test_client", "test_contacts").is_file()
    loop.close()  # the server is gone: replaying must not need it

    pytester.makepyfile(test_client=SYNC_CLIENT.format(recording=False, protocol="MSNP7"))
    pytester.runpytest_inprocess(f"--msnp-upstream={server.address}").assert_outcomes(passed=1)

    # The client now offers other versions: it fails, and the replay says why.
    pytester.makepyfile(test_client=SYNC_CLIENT.format(recording=False, protocol="MSNP6"))
    result = pytester.runpytest_inprocess("--msnp-record-mode=none")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Captured msnp cassette call*",
            "*step 1: mismatch, expected 'VER 1 MSNP7 MSNP6 * CVR0', got 'VER 1 MSNP6 *",
        ]
    )


def test_trio_cassette_recorded_then_replayed_with_a_passport_login(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(CONFIG)
    # Recorded from msnp_server, which the replaying runs do not start; MSNP8 logs in
    # through the Passport nexus, msnp_cassette.nexus_url in both.
    pytester.makepyfile(test_bot=TRIO_CLIENT.format(recording=True, protocol=8, state="NLN"))
    pytester.runpytest_inprocess().assert_outcomes(passed=1)
    recorded = _cassette(pytester, "test_bot", "login").read_bytes()
    assert b"USR" in recorded
    assert b"TWN" in recorded

    pytester.makepyfile(test_bot=TRIO_CLIENT.format(recording=False, protocol=8, state="NLN"))
    pytester.runpytest_inprocess().assert_outcomes(passed=1)

    # A changed client: the replay tells what it said instead, and the cassette stays.
    pytester.makepyfile(test_bot=TRIO_CLIENT.format(recording=False, protocol=8, state="BSY"))
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*mismatch, expected 'CHG * NLN*', got 'CHG * BSY*' (argument 1 is 'BSY', not 'NLN')"]
    )
    assert _cassette(pytester, "test_bot", "login").read_bytes() == recorded


def test_record_mode_none_without_a_cassette_fails_with_the_record_command(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(CONFIG)
    pytester.makepyfile(test_client=SYNC_CLIENT.format(recording=True, protocol="MSNP7"))
    result = pytester.runpytest_inprocess("--msnp-record-mode=none")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*no cassette *test_contacts.jsonl (record mode 'none' never records); record it with:",
            "*pytest --msnp-record-mode=once 'test_client.py::test_contacts'",
        ]
    )
    assert not (pytester.path / "tests" / "cassettes").exists()


GOLDEN_CLIENT = """
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from msproxy.testing import assert_same_session

GOLDEN = Path(__file__).parent / "golden.jsonl"


@pytest.mark.msnp_accounts({accounts!r})
def test_session_as_before(msnp_proxy):
    subprocess.run(
        [sys.executable, "-m", "msmgr", "contacts", "--server", msnp_proxy.address,
         "--user", "alice@example.com", "--password", "pw", "--protocol", "MSNP7",
         "--timeout", "5", "-q"],
        check=True, timeout=20,
    )
    records = msnp_proxy.records()
    if not GOLDEN.exists():
        shutil.copy(msnp_proxy.capture_path, GOLDEN)
    assert_same_session(GOLDEN, records, ignore_cmd=["CHL", "QRY"])
"""


def test_a_changed_server_answer_fails_with_the_diff(pytester: pytest.Pytester) -> None:
    pytester.makeini(CONFIG)
    before = {"alice@example.com": "pw", "bob@example.com": "pw"}
    pytester.makepyfile(test_golden=GOLDEN_CLIENT.format(accounts=before))
    pytester.runpytest_inprocess().assert_outcomes(passed=1)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)  # the same session again

    after = {"alice@example.com": "pw", "carol@example.com": "pw"}
    pytester.makepyfile(test_golden=GOLDEN_CLIENT.format(accounts=after))
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the sessions differ (as msproxy diff shows them):",
            "*--- *golden.jsonl NS#*",
            "*+++ b NS#*",
            "*-<- LST * bob@example.com *",
            "*+<- LST * carol@example.com *",
        ]
    )
