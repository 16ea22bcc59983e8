"""``msproxy import`` and ``msproxy export`` from the command line: outputs, summaries
and exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from msproxy.__main__ import main
from msproxy.capture import read_capture

from .streams import DATA

SAMPLE = Path(__file__).resolve().parents[2] / "captures" / "samples" / "msnp2-md5-chat.jsonl"


def test_import_writes_a_capture_and_says_what_it_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cap.jsonl"
    assert main(["import", str(DATA / "session-ipv4.pcapng"), "-o", str(out)]) == 0
    assert "6 MSNP connections of 8 TCP connections" in capsys.readouterr().err
    records = list(read_capture(out))
    assert records[0]["redacted"] is True
    assert sum(r["type"] == "open" for r in records) == 6
    assert out.stat().st_mode & 0o777 == 0o600


def test_import_of_two_files_and_no_redact(tmp_path: Path) -> None:
    out = tmp_path / "cap.jsonl"
    files = [str(DATA / "session-ipv4-en10mb.pcap"), str(DATA / "session-ipv6-en10mb.pcap")]
    assert main(["import", *files, "--no-redact", "--port", "1", "-o", str(out)]) == 0
    header = next(read_capture(out))
    assert header["imported"]["from"] == ["session-ipv4-en10mb.pcap", "session-ipv6-en10mb.pcap"]
    assert header["redacted"] is False
    assert [r for r in read_capture(out) if r["type"] == "open"] == []  # nothing on port 1


@pytest.mark.parametrize("content", [b"", b"not a packet capture at all"])
def test_import_refuses_what_is_not_a_pcap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    assert main(["import", str(bad), "-o", str(tmp_path / "out.jsonl")]) == 2
    assert "not a pcap or pcapng file" in capsys.readouterr().err


def test_import_and_export_never_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exists"
    out.write_text("keep me")
    assert main(["import", str(DATA / "session-ipv4-sll.pcap"), "-o", str(out)]) == 2
    assert main(["export", str(SAMPLE), "-o", str(out)]) == 2
    assert out.read_text() == "keep me"
    assert capsys.readouterr().err.count("File exists") == 2


def test_export_says_how_many_packets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.pcap"
    assert main(["export", str(SAMPLE), "-o", str(out), "--as-received"]) == 0
    assert "4 connections, 132 packets" in capsys.readouterr().err
    assert out.read_bytes()[:4] == bytes.fromhex("d4c3b2a1")


def test_export_of_a_broken_capture_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type":"header","format":"other","version":1}\n')
    assert main(["export", str(bad), "-o", str(tmp_path / "x.pcap")]) == 2
    assert "msproxy export: error" in capsys.readouterr().err
