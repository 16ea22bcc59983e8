"""Command objects: the four Net::Msmgr types and canonical serialisation."""

from __future__ import annotations

import pytest

from msmgr.codec import Command, CommandType, Direction, Framer, LocalProtocolError


def test_types_follow_net_msmgr() -> None:
    assert Command("CHG", 9, ("NLN",)).type is CommandType.NORMAL
    assert Command("PNG").type is CommandType.ASYNC
    assert Command("MSG", 3, ("N",), b"hi").type is CommandType.PAYLOAD
    assert Command.make_pseudo("login", object()).type is CommandType.PSEUDO
    assert [t.value for t in CommandType] == [1, 2, 3, 4]


def test_canonical_form_computes_the_count() -> None:
    assert Command("MSG", 3, ("N",), b"hello").to_bytes() == b"MSG 3 N 5\r\nhello"
    assert Command("OUT").to_bytes() == b"OUT\r\n"
    assert Command("UUX", 10, (), b"").to_bytes() == b"UUX 10 0\r\n"


def test_pseudo_commands_have_no_wire_form() -> None:
    with pytest.raises(LocalProtocolError, match="pseudo"):
        Command.make_pseudo("close").to_bytes()


def test_with_trid_drops_raw() -> None:
    [cmd] = Framer(Direction.C2S).feed(b"CHG 7 NLN\n")
    assert isinstance(cmd, Command)
    assert cmd.with_trid(12).to_bytes() == b"CHG 12 NLN\r\n"


def test_error_and_text_helpers() -> None:
    cmd = Command("911", 7)
    assert cmd.is_error
    assert not Command("MSG").is_error
    assert str(Command("MSG", 1, ("N",), b"abc")) == "MSG 1 N 3 <3 payload bytes>"
    assert Command("QNG", None, ("50",)).line == "QNG 50"
