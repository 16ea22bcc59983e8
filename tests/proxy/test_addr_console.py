"""Address parsing/formatting and the console's payload summaries."""

from __future__ import annotations

import pytest

from msmgr.codec.address import format_address, parse_address
from msproxy.view.console import hexdump, payload_summary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.5:1863", ("10.0.0.5", 1863)),
        ("ns.example.com:1864", ("ns.example.com", 1864)),
        ("[::1]:1863", ("::1", 1863)),
        ("[::1]", ("::1", 1863)),
        ("host", ("host", 1863)),
        ("::1", ("::1", 1863)),
    ],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", ":1863", "h:0", "h:70000", "h:x", "[::1", "[::1]x"])
def test_parse_address_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"address|port|host"):
        parse_address(text)


def test_parse_address_port_zero_only_when_allowed() -> None:
    assert parse_address("127.0.0.1:0", allow_zero=True) == ("127.0.0.1", 0)
    assert parse_address("[::1]:0", allow_zero=True) == ("::1", 0)
    with pytest.raises(ValueError, match="port"):
        parse_address("h:70000", allow_zero=True)


def test_format_address() -> None:
    assert format_address("127.0.0.1", 5) == "127.0.0.1:5"
    assert format_address("::1", 5) == "[::1]:5"
    assert format_address("::ffff:10.1.2.3", 5) == "10.1.2.3:5"


def test_payload_summary() -> None:
    text = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhi"
    assert payload_summary(text) == f"[text/plain, {len(text)} bytes]"
    p2p = b"Content-Type: application/x-msnmsgrp2p\r\n\r\n\x00\xff" + bytes(50)
    assert payload_summary(p2p) == f"[application/x-msnmsgrp2p, {len(p2p)} bytes, binary]"
    assert payload_summary(b"<ml l='1'></ml>") == "[xml, 15 bytes]"
    assert payload_summary(b"8f2f5a91") == "[text, 8 bytes]"
    assert payload_summary(b"\x00\x01") == "[binary, 2 bytes]"


def test_hexdump() -> None:
    dump = hexdump(b"PNG\r\n" + bytes(range(20)))
    lines = dump.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("00000000  50 4e 47 0d 0a")
    assert lines[0].endswith("|PNG" + "." * 13 + "|")
