"""Export then import: every sample capture comes back with the same bytes in every
direction and the same connections; a real pcap's import survives export and import."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from msproxy.__main__ import main
from msproxy.capture import Record, read_capture, rebuild
from msproxy.inspect.streams import rebuild_direction
from msproxy.interchange import export_capture, import_pcaps

from .streams import DATA

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "captures" / "samples").glob("*.jsonl"))


def load(path: Path) -> list[Record]:
    return list(read_capture(path))


def conns(records: list[Record]) -> dict[int, Record]:
    return {r["conn"]: r for r in records if r["type"] == "open"}


def directions(records: list[Record], *, as_received: bool = False) -> dict[tuple[int, str], bytes]:
    return {
        (c, d): rebuild_direction(records, c, d, as_received=as_received)
        for c in conns(records)
        for d in ("c2s", "s2c")
    }


def round_trip(capture: Path, tmp_path: Path, *, as_received: bool = False) -> list[Record]:
    pcap = tmp_path / f"{capture.stem}.pcap"
    export_capture(capture, pcap, as_received=as_received)
    back = tmp_path / f"{capture.stem}-back.jsonl"
    import_pcaps([pcap], back, redact=False)
    return load(back)


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_sample_comes_back_byte_equal(sample: Path, tmp_path: Path) -> None:
    original = load(sample)
    back = round_trip(sample, tmp_path)
    assert directions(back) == directions(original)
    before, after = conns(original), conns(back)
    for key in ("client", "upstream", "role", "parent", "via"):
        assert {c: r[key] for c, r in after.items()} == {c: r[key] for c, r in before.items()}
    ends = {r["conn"]: r["by"] for r in back if r["type"] == "close"}
    assert ends == {r["conn"]: r["by"] for r in original if r["type"] == "close"}


def test_as_received_exports_the_rewritten_redirects(tmp_path: Path) -> None:
    sample = next(s for s in SAMPLES if "msnp2" in s.name)
    original = load(sample)
    assert any(r["type"] == "rewrite" for r in original)
    back = round_trip(sample, tmp_path, as_received=True)
    assert directions(back) == directions(original, as_received=True)
    assert directions(back) != directions(original)


@pytest.mark.parametrize("pcap", ["session-ipv4-sll2.pcap", "session-ipv6-en10mb.pcap"])
def test_import_export_import_is_stable(tmp_path: Path, pcap: str) -> None:
    first = tmp_path / "first.jsonl"
    import_pcaps([DATA / pcap], first, redact=False)
    second = round_trip(first, tmp_path)
    assert second[1:] == load(first)[1:]
    assert len(second) > 70


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_the_export_and_its_msnms_dissector_shows_every_command(
    tmp_path: Path,
) -> None:
    sample = next(s for s in SAMPLES if "msnp2" in s.name)
    pcap = tmp_path / "export.pcap"
    assert main(["export", str(sample), "-o", str(pcap)]) == 0
    records = load(sample)
    ports = sorted({int(r["upstream"].rsplit(":", 1)[1]) for r in conns(records).values()})
    decode = [arg for port in ports for arg in ("-d", f"tcp.port=={port},msnms")]
    shown = subprocess.run(
        ["tshark", "-r", str(pcap), *decode, "-O", "msnms", "-V"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    lines: Counter[str] = Counter()
    inside = False
    for line in shown.splitlines():
        if line.startswith("MSN Messenger Service"):
            inside = True
        elif inside and line.startswith("    "):
            lines[line.strip().removesuffix("\\r\\n").removesuffix("\\n")] += 1
        else:
            inside = False
    commands = Counter(_command_line(r) for r in records if r["type"] == "cmd")
    assert sum(commands.values()) > 20
    assert commands - lines == Counter()
    expert = subprocess.run(
        ["tshark", "-r", str(pcap), *decode, "-q", "-z", "expert,warn"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "Warns" not in expert
    assert "Errors" not in expert


def _command_line(record: Record) -> str:
    """The command line of a ``cmd`` record, without its line end, as tshark shows it."""
    data = rebuild(record)
    return data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")


def test_made_up_addresses_where_the_capture_has_none(tmp_path: Path) -> None:
    sample = next(s for s in SAMPLES if "msnp2" in s.name)
    records = load(sample)
    for record in records:
        if record["type"] == "open" and record["conn"] == 1:
            record["upstream"] = "messenger.example.net:1863"  # a name, not an address
        elif record["type"] == "open":
            record["upstream"] = None
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(r) + "\n" for r in records))
    pcap = tmp_path / "edited.pcap"
    stats = export_capture(edited, pcap)
    assert stats.made_up == [1, 2, 3, 4]
    back = tmp_path / "back.jsonl"
    import_pcaps([pcap], back, redact=False)
    again = load(back)
    assert directions(again) == directions(records)
    assert {r["upstream"] for r in conns(again).values()} == {"203.0.113.1:1863"}
