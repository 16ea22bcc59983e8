"""Secrets never reach capture records (unless asked), and never change forwarded bytes."""

from __future__ import annotations

import json

import pytest

from msmgr.codec import Command, Direction, Framer
from msproxy.capture import rebuild, record_command
from msproxy.proxy.events import DataReceived, Side
from msproxy.proxy.redact import Redactor
from msproxy.proxy.relay import Relay

from .relayutil import Driver, records, sent

# Every test here runs over both record paths (C fast path and pure Python).
pytestmark = pytest.mark.usefixtures("record_path")

HASH = "0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7"
TICKET = "t=8uRzVv5kTIv!p*Xx$&p=d9Z!*ZZ$$"
MSPAUTH = "8d5f3b9J2!YYY*Hdd$$"
GUID = "{F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}"


def parse(direction: Direction, data: bytes) -> Command:
    (command,) = Framer(direction).feed(data)
    assert isinstance(command, Command)
    return command


def relay_with(redactor: Redactor | None) -> tuple[Relay, Driver]:
    relay = Relay(1, client="127.0.0.1:1", redactor=redactor)
    driver = Driver(relay)
    driver.feed(Side.CLIENT, b"VER 1 MSNP8 CVR0\r\n")
    return relay, driver


@pytest.mark.parametrize(
    ("line", "secrets"),
    [
        (f"USR 7 MD5 S {HASH}\r\n", [HASH]),
        (f"USR 7 TWN S {TICKET}\r\n", [TICKET]),
        (f"USR 7  TWN S {TICKET}\n", [TICKET]),  # double space: an empty token, skipped
        (f"USR 7 TWN  S {TICKET}\r\n", [TICKET]),
        (f"USR 7 md5 s {HASH}\r\n", [HASH]),
        (f"USR  7 Md5 S  {HASH} \r\n", [HASH]),
        (f"USR 7 TWN I {TICKET}\r\n", []),  # the initial step: a handle, no secret
        (f"USR 7 SSO S {TICKET} cmVzcG9uc2U=\r\n", [TICKET, "cmVzcG9uc2U="]),
        (f"USR 7 SSO S {TICKET} cmVzcG9uc2U= {GUID}\r\n", [TICKET, "cmVzcG9uc2U="]),
        ("USR 7 SHA A c2VjcmV0\r\n", ["c2VjcmV0"]),
    ],
)
def test_login_secrets_are_redacted_in_records_not_in_bytes(line: str, secrets: list[str]) -> None:
    _, driver = relay_with(Redactor())
    data = line.encode()
    out = driver.feed(Side.CLIENT, data)
    assert sent(out, Side.UPSTREAM) == data
    (record,) = records(out)
    text = json.dumps(record)
    for secret in secrets:
        assert secret not in text
    assert record.get("redacted", False) is bool(secrets)
    assert (rebuild(record) == data) is not bool(secrets)


def test_msnp16_machine_guid_after_the_sso_secrets_is_kept() -> None:
    # MSNP16+: USR trid SSO S <ticket> <response> {machineguid}; the GUID is no secret
    # (UUX and the switchboard lines carry it in clear) and stays readable.
    _, driver = relay_with(Redactor())
    data = f"USR 7 SSO S {TICKET} cmVzcG9uc2U= {GUID}\r\n".encode()
    (record,) = records(driver.feed(Side.CLIENT, data))
    command = record_command(record)
    assert command.args[:2] == ("SSO", "S")
    assert command.args[2].startswith("<redacted:")
    assert command.args[3].startswith("<redacted:")
    assert command.args[2] != command.args[3]
    assert command.args[4] == GUID
    assert len(command.args) == 5


def test_non_canonical_line_is_redacted_in_the_line_field_too() -> None:
    _, driver = relay_with(Redactor())
    data = f"USR 007 MD5 S {HASH}\n".encode()
    (record,) = records(driver.feed(Side.CLIENT, data))
    assert "line" in record
    assert HASH not in json.dumps(record)
    assert record_command(record).args[2].startswith("<redacted:")


def test_the_salt_is_not_a_secret() -> None:
    _, driver = relay_with(Redactor())
    (record,) = records(driver.feed(Side.UPSTREAM, b"USR 6 MD5 S 1013928519.693957190\r\n"))
    assert record["args"] == ["MD5", "S", "1013928519.693957190"]
    assert "redacted" not in record


def test_same_secret_same_placeholder_within_a_capture_not_across() -> None:
    one, two = Redactor(), Redactor()
    command = parse(Direction.C2S, f"USR 7 MD5 S {HASH}\r\n".encode())
    a = one.redact(Direction.C2S, command)
    b = one.redact(Direction.C2S, command)
    c = two.redact(Direction.C2S, command)
    assert a is not None
    assert b is not None
    assert c is not None
    assert a.args == b.args
    assert a.args != c.args
    assert a.args[2].startswith("<redacted:")
    assert len(a.args[2]) == len("<redacted:>") + 12


def test_profile_mspauth_is_redacted_and_record_stays_consistent() -> None:
    profile = (
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n"
        f"sid: 507\r\nMSPAuth: {MSPAUTH}\r\nkv: 5\r\nClientIP: 10.1.2.3\r\n\r\n"
    ).encode()
    data = b"MSG Hotmail Hotmail %d\r\n" % len(profile) + profile
    _, driver = relay_with(Redactor())
    out = driver.feed(Side.UPSTREAM, data)
    assert sent(out, Side.CLIENT) == data
    (record,) = records(out)
    assert MSPAUTH not in json.dumps(record)
    assert record["redacted"] is True
    command = record_command(record)
    assert command.payload is not None
    assert b"sid: 507" in command.payload
    assert b"kv: 5" in command.payload
    # The rebuilt command frames correctly: its count is its payload's length.
    (again,) = Framer(Direction.S2C).feed(command.to_bytes())
    assert again == command


def test_profile_with_odd_line_keeps_count_consistent() -> None:
    profile = f"MSPAuth: {MSPAUTH}\r\n\r\n".encode()
    data = b"MSG Hotmail  Hotmail %d\n" % len(profile) + profile  # not canonical
    # "Hotmail  Hotmail" has an empty token, skipped: still the profile, redacted
    for line in (data, b"MSG Hotmail Hotmail %d\n" % len(profile) + profile):
        redacted = Redactor().redact(Direction.S2C, parse(Direction.S2C, line))
        assert redacted is not None
        assert redacted.raw is not None
        assert MSPAUTH.encode() not in redacted.raw
        (again,) = Framer(Direction.S2C).feed(redacted.raw)
        assert isinstance(again, Command)
        assert again.payload == redacted.payload


def test_no_redact_keeps_secrets() -> None:
    _, driver = relay_with(None)
    data = f"USR 7 MD5 S {HASH}\r\n".encode()
    (record,) = records(driver.feed(Side.CLIENT, data))
    assert rebuild(record) == data


def test_console_lines_do_not_show_secrets() -> None:
    from msmgr.debug import Debug
    from msproxy.proxy.commands import Log

    relay = Relay(1, client="c", redactor=Redactor(), debug=Debug.COMMAND_SEND)
    driver = Driver(relay)
    driver.feed(Side.CLIENT, b"VER 1 MSNP8 CVR0\r\n")
    out = driver.feed(Side.CLIENT, f"USR 7 MD5 S {HASH}\r\n".encode())
    logs = [c.msg % c.args for c in out if isinstance(c, Log)]
    assert logs
    assert all(HASH not in line for line in logs)
    assert relay.handle(DataReceived(side=Side.CLIENT, data=b"")) == []
