"""Small pure pieces: addresses, MIME messages, User, TrIDs, protocol names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from msmgr.client import (
    TridCounter,
    User,
    format_address,
    make,
    parse_address,
    parse_message,
    protocol_number,
    text_message,
    typing_message,
)
from msmgr.client.errors import ServerError, error_meaning
from msmgr.codec import Command, CommandType, login_hash


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("207.46.106.145:1863", ("207.46.106.145", 1863)),
        ("ns.example.test:1864", ("ns.example.test", 1864)),
        ("[::1]:1863", ("::1", 1863)),
        ("[2001:db8::5]", ("2001:db8::5", 1863)),
        ("::1", ("::1", 1863)),
        ("host", ("host", 1863)),
    ],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected
    host, port = expected
    assert parse_address(format_address(host, port)) == expected


@pytest.mark.parametrize("bad", ["", "host:", "host:0", "host:70000", "host:x", "[::1", ":1863"])
def test_bad_addresses(bad: str) -> None:
    with pytest.raises(ValueError, match="address"):
        parse_address(bad)


def test_text_message_round_trip() -> None:
    body = text_message("h\u00e9llo", font="Times New Roman")
    assert body == (
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        b"X-MMS-IM-Format: FN=Times%20New%20Roman; EF=; CO=0; CS=0; PF=22\r\n\r\n"
        + "h\u00e9llo".encode()
    )
    message = parse_message(Command("MSG", None, ("bob@x.com", "Bob%20B"), body))
    assert (message.sender, message.name, message.text) == ("bob@x.com", "Bob B", "h\u00e9llo")
    assert message.is_text
    typing = parse_message(Command("MSG", None, ("bob@x.com", "Bob"), typing_message("bob@x.com")))
    assert typing.is_typing
    assert typing.headers["typinguser"] == "bob@x.com"
    with pytest.raises(ValueError, match="not a message"):
        parse_message(Command("NLN", None, ("NLN",)))


def test_user_crypto_passwd() -> None:
    user = User("alice@example.com", "pw")
    with pytest.raises(ValueError, match="no salt"):
        user.crypto_passwd()
    assert user.crypto_passwd("123.456") == login_hash("123.456", "pw")
    assert user.salt == "123.456"
    assert "pw" not in repr(user)


def test_command_types_and_trids() -> None:
    counter = TridCounter()
    assert [counter.next(), counter.next()] == [1, 2]
    assert make("CAL", "bob@x.com").type is CommandType.ASYNC  # no TrID until sent
    assert make("CAL", "bob@x.com").with_trid(3).type is CommandType.NORMAL
    assert make("MSG", "N", payload=b"x").type is CommandType.PAYLOAD
    assert Command.make_pseudo("login").type is CommandType.PSEUDO


def test_protocol_number() -> None:
    assert protocol_number("MSNP8") == 8
    assert protocol_number("msnp2") == 2
    with pytest.raises(ValueError, match="MSNP2"):
        protocol_number("MSNP1")


def test_the_package_reexports_the_client_api() -> None:
    import msmgr
    import msmgr.client
    import msmgr.debug

    for name in ("Session", "open_session", "Connection", "Switchboard", "Conversation", "User"):
        assert getattr(msmgr, name) is getattr(msmgr.client, name), name
    for name in ("ClientError", "ServerError", "AuthenticationError", "ConnectionLost"):
        assert issubclass(getattr(msmgr, name), msmgr.ClientError), name
    assert msmgr.DEBUG_COMMAND_SEND is msmgr.debug.Debug.COMMAND_SEND
    assert all(hasattr(msmgr, name) for name in msmgr.__all__)


@pytest.mark.parametrize(
    "module", ["msmgr", "msmgr.client.session", "msmgr.stream", "msmgr.codec", "msmgr.cli.contacts"]
)
def test_any_entry_point_imports_without_a_cycle(module: str) -> None:
    code = f"import {module}; from msmgr import Session, open_session, Command, DEBUG_OPEN"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (217, "user not online"),
        (911, "authentication failed"),
        (913, "not allowed when offline"),
        (540, "challenge response failed"),
        (600, "server is busy"),
        (601, "server is unavailable"),
        (910, "server too busy"),
        (223, "too many groups"),
        (917, "authentication failed"),
        (924, "Passport account not yet verified"),
    ],
)
def test_server_errors_say_what_their_code_means(code: int, meaning: str) -> None:
    request = Command("USR", 7, ("MD5", "S", "x"))
    error = ServerError(code, Command(str(code), 7), request)
    assert str(error) == f"server error {code} ({meaning}) to 'USR 7 MD5 S x'"


def test_every_common_error_code_has_a_meaning() -> None:
    """The codes of msnp.md b.5, written out here."""
    codes = """200 201 205 206 207 208 209 210 215 216 217 218 219 223 224 225 229 230 231 280
    281 300 302 500 501 502 510 520 540 600 601 602 603 604 605 707 710 711 712 713 714 715
    717 731 800 910 911 912 913 914 915 916 917 918 919 920 921 922 923 924 928"""
    for code in map(int, codes.split()):
        assert error_meaning(code) != "unknown error", code
    assert error_meaning(999) == "unknown error"
