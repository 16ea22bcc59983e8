"""The demo (the README's main job): server, proxy, two clients, capture, summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from msproxy.__main__ import main
from msproxy.capture import read_capture
from msproxy.demo import run_demo


async def test_demo_conversation_goes_through_the_proxy_and_is_captured(tmp_path: Path) -> None:
    capture = tmp_path / "demo.jsonl"
    said: list[str] = []
    result = await run_demo(capture, say=said.append)
    assert result.bob_received == ["Hello Bob, this is Alice, through msproxy."]
    assert result.alice_received == ["Hi Alice! Bob here, on MSNP7."]
    records = list(read_capture(capture))
    roles = [r["role"] for r in records if r["type"] == "open"]
    assert roles == ["DS", "NS", "DS", "NS", "SB", "SB"]
    verbs = {(r["dir"], r["cmd"]) for r in records if r["type"] == "cmd"}
    for expected in [
        ("s2c", "XFR"),
        ("s2c", "RNG"),
        ("c2s", "ANS"),
        ("c2s", "MSG"),
        ("s2c", "ACK"),
    ]:
        assert expected in verbs
    rewrites = [r for r in records if r["type"] == "rewrite"]
    assert sorted(r["cmd"] for r in rewrites) == ["RNG", "XFR", "XFR", "XFR"]
    assert any("alice sees bob online" in line for line in said)
    # Secrets never reach the capture: not bob's MD5 hash, not alice's Passport ticket.
    answers = [
        r["args"]
        for r in records
        if r["type"] == "cmd" and r["dir"] == "c2s" and r["cmd"] == "USR" and r["args"][1] == "S"
    ]
    assert [a[0] for a in answers] == ["MD5", "TWN"]
    assert all(a[2].startswith("<redacted:") for a in answers)


def test_demo_command_prints_capture_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "cli-demo.jsonl"
    assert main(["demo", "--capture", str(capture), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "alice <- 'Hi Alice! Bob here, on MSNP7.'" in out
    assert "rewrite RNG" in out
    assert "Connections" in out
    assert "TrID round trips" in out
    assert capture.exists()
