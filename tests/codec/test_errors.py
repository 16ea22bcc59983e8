"""The exceptions, split as h11 splits them: what we were asked to send (Local) and what
the peer sent (Remote), both ProtocolErrors; the stream's closing is an MsnpError too."""

from __future__ import annotations

import pytest

import msmgr
import msmgr.stream
from msmgr.codec import (
    Command,
    Direction,
    Framer,
    LimitExceeded,
    Limits,
    LocalProtocolError,
    MsnpError,
    ProtocolError,
    RemoteProtocolError,
)

C2S, S2C = Direction.C2S, Direction.S2C


def _feed_and_close(framer: Framer, data: bytes) -> None:
    framer.feed(data)
    framer.close()


def remote_error(data: bytes, *, limits: Limits | None = None) -> RemoteProtocolError:
    framer = Framer(C2S, strict=True, limits=limits)
    with pytest.raises(ProtocolError) as info:
        _feed_and_close(framer, data)
    assert type(info.value) in (RemoteProtocolError, LimitExceeded)
    assert isinstance(info.value, RemoteProtocolError)
    return info.value


def test_a_strict_framer_raises_remote_errors() -> None:
    bad = remote_error(b"this is not msnp\r\n")
    assert bad.error_code_hint == 200  # a server answers "200 0": syntax error
    assert bad.data == b"this is not msnp\r\n"
    long = remote_error(b"MSG 1 N " + b"x" * 80 + b"\r\n", limits=Limits(max_line=64))
    assert isinstance(long, LimitExceeded)
    assert long.error_code_hint == 200
    cut = remote_error(b"MSG 1 N 10\r\nabc")  # the stream ends inside the payload
    assert cut.error_code_hint is None  # nobody left to answer
    assert not isinstance(cut, LocalProtocolError)


@pytest.mark.parametrize(
    "command",
    [
        Command("ADD", 1, ("FL", "not a handle")),  # a space would split the argument
        Command("MSG", 1, ("N\nOUT",), b"x"),  # a line feed would end the line
        Command("msg", 1, ("N",)),  # not a verb
        Command("ABCD"),
        Command("", None),
        Command("PNG", -1),  # would read back as an argument
        Command.make_pseudo("login"),  # never on the wire
    ],
    ids=["space", "lf", "lower", "long", "empty", "negative-trid", "pseudo"],
)
def test_sending_what_would_not_read_back_raises_local_errors(command: Command) -> None:
    with pytest.raises(LocalProtocolError) as info:
        command.to_bytes()
    assert not isinstance(info.value, RemoteProtocolError)
    assert info.value.error_code_hint is None


def test_what_reads_back_the_same_is_sent() -> None:
    for command in [
        Command("USR", 1, ("MD5", "I", "a@b.c")),
        Command("241", 3),
        Command("CHG", 2, ("NLN", "")),  # an empty argument: two spaces, read back alike
        Command("MSG", 4, ("A\rB",), b"x"),  # a lone CR stays inside its token
    ]:
        (back,) = Framer(C2S if command.verb != "241" else S2C).feed(command.to_bytes())
        assert back == command
    assert str(Command("ADD", 1, ("FL", "a b"))) == "ADD 1 FL a b"  # shown, not sent


def test_protocol_error_is_only_raised_as_one_of_its_kinds() -> None:
    with pytest.raises(TypeError):
        ProtocolError("which side?")
    assert issubclass(LocalProtocolError, ProtocolError)
    assert issubclass(RemoteProtocolError, ProtocolError)
    assert issubclass(LimitExceeded, RemoteProtocolError)
    assert issubclass(ProtocolError, MsnpError)


def test_the_stream_closing_is_an_msnp_error_under_both_names() -> None:
    assert issubclass(msmgr.stream.StreamClosed, MsnpError)
    assert msmgr.stream.ConnectionClosed is msmgr.stream.StreamClosed
    for name in ("StreamClosed", "LocalProtocolError", "RemoteProtocolError", "MsnpError"):
        assert name in msmgr.__all__
        assert getattr(msmgr, name) is not None
