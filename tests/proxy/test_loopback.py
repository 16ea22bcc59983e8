"""End to end over 127.0.0.1: scripted DS/NS/SB servers, the proxy, scripted clients."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from functools import partial
from pathlib import Path

import pytest
import trio

from msproxy.capture import FORMAT_VERSION, Record, read_capture, rebuild
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.server import ProxyListening, serve_proxy

from .world import ClientRun, World, client_script

VERSIONS = [2, 5, 7, 8, 11, 13, 15, 18]


async def run_world(
    tmp_path: Path,
    versions: list[int],
    *,
    redact: bool = False,
    capture_version: int = FORMAT_VERSION,
) -> tuple[World, list[ClientRun], list[Record], ProxyListening]:
    world = World()
    runs = [ClientRun() for _ in versions]
    capture = tmp_path / "cap.jsonl"
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await world.start(nursery)
            config = ProxyConfig(
                upstream=world.ds,
                listen=("127.0.0.1", 0),
                capture=capture,
                redact=redact,
                capture_version=capture_version,
            )
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            async with trio.open_nursery() as clients:
                for i, (version, run) in enumerate(zip(versions, runs, strict=True)):
                    clients.start_soon(
                        partial(
                            client_script, listening.address, version, f"user{i}@x.com", run=run
                        )
                    )
            # Let the servers see the last bytes, then stop everything.
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    return world, runs, list(read_capture(capture)), listening


def by_conn(records: list[Record]) -> dict[int, list[Record]]:
    conns: dict[int, list[Record]] = {}
    for record in records[1:]:
        conns.setdefault(record["conn"], []).append(record)
    return conns


def rewritten(data: bytes, records: list[Record]) -> bytes:
    for record in records:
        if record["type"] == "rewrite":
            data = data.replace(record["original"].encode(), record["new"].encode(), 1)
    return data


@pytest.mark.parametrize("version", VERSIONS)
async def test_one_client_every_byte_through(tmp_path: Path, version: int) -> None:
    world, (run,), records, listening = await run_world(tmp_path, [version])
    # The client was only ever told the proxy's addresses: its NS listener, then the main one.
    assert run.told[1:] == [listening.url] * 2
    host, port = run.told[0].split(":")
    assert host == "127.0.0.1"
    assert int(port) not in (world.ds[1], world.ns[1], world.sb[1], listening.address[1])
    conns = by_conn(records)
    assert [c[0]["role"] for c in conns.values()] == ["DS", "NS", "SB", "SB"]
    assert [c[0]["via"] for c in conns.values()] == [None, "XFR", "XFR", "RNG"]
    assert [c[0]["parent"] for c in conns.values()] == [None, 1, 2, 2]
    assert all(c[-1]["type"] == "close" for c in conns.values())
    check_bytes(world, [run], conns)


async def test_fifty_clients_no_cross_talk(tmp_path: Path) -> None:
    versions = [VERSIONS[i % len(VERSIONS)] for i in range(50)]
    world, runs, records, _ = await run_world(tmp_path, versions)
    conns = by_conn(records)
    assert len(conns) == 200
    assert Counter(c[0]["role"] for c in conns.values()) == {"DS": 50, "NS": 50, "SB": 100}
    check_bytes(world, runs, conns)


def check_bytes(world: World, runs: list[ClientRun], conns: dict[int, list[Record]]) -> None:
    """Both ends agree byte for byte (but for rewrites), and the capture rebuilds both."""
    # Keyed by the client's address; two connections to different proxy listeners (main
    # and NS) may share one local port, so an address can name several connections.
    client_side: dict[str, list[tuple[bytes, bytes]]] = {}
    for run in runs:
        for tap in run.taps:
            client_side.setdefault(tap.local, []).append((bytes(tap.sent), bytes(tap.received)))
    captured_c2s, captured_s2c = [], []
    for records in conns.values():
        c2s = b"".join(rebuild(r) for r in records if r.get("dir") == "c2s")
        s2c = b"".join(rebuild(r) for r in records if r.get("dir") == "s2c")
        candidates = client_side[records[0]["client"]]
        matching = [pair for pair in candidates if pair[0] == c2s]
        assert matching, f"no client connection from {records[0]['client']} sent {c2s!r}"
        _, received = matching[0]
        candidates.remove(matching[0])
        assert rewritten(s2c, records) == received
        assert s2c != received or not any(r["type"] == "rewrite" for r in records)
        captured_c2s.append(c2s)
        captured_s2c.append(s2c)
    # The servers received exactly what the clients sent, and sent what the capture says.
    assert sorted(bytes(t.received) for t in world.taps) == sorted(captured_c2s)
    assert sorted(bytes(t.sent) for t in world.taps) == sorted(captured_s2c)


async def test_capture_is_0600_and_redacted_by_default(tmp_path: Path) -> None:
    _, _, records, listening = await run_world(tmp_path, [8], redact=True)
    assert listening.capture is not None
    assert os.stat(listening.capture).st_mode & 0o777 == 0o600
    text = listening.capture.read_text()
    assert "secret-of-user0" not in text
    assert "sekrit" not in text
    assert sum(1 for r in records if r["type"] == "cmd" and r.get("redacted")) == 2
    assert records[0]["redacted"] is True


def comparable(record: Record) -> Record:
    """``record`` without what differs from one run of the world to the next: times and
    the ports of 127.0.0.1 (the servers', the proxy's listeners', the clients')."""
    times = ("t", "ready", "finished", "started")
    text = json.dumps({k: v for k, v in record.items() if k not in times}, sort_keys=True)
    same: Record = json.loads(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text))
    return same


async def test_capture_versions_1_and_2_hold_the_same_records(
    tmp_path: Path, record_path: str
) -> None:
    """The same traffic captured in format version 1 and in the default version 2 reads
    back as the same records; version 2 keeps the C path's runs in ``run`` records."""
    captures: dict[int, list[Record]] = {}
    unexpanded: dict[int, list[Record]] = {}
    for version in (1, FORMAT_VERSION):
        folder = tmp_path / f"v{version}"
        folder.mkdir()
        if version == FORMAT_VERSION:  # the default
            world, runs, records, listening = await run_world(folder, [8])
        else:
            world, runs, records, listening = await run_world(folder, [8], capture_version=1)
        check_bytes(world, runs, by_conn(records))  # each capture rebuilds the traffic
        assert listening.capture is not None
        captures[version] = records
        unexpanded[version] = list(read_capture(listening.capture, expand_runs=False))
    assert FORMAT_VERSION == 2
    v1, v2 = captures[1], captures[2]
    assert v1[0]["version"] == 1
    assert v2[0]["version"] == 2
    assert comparable({**v1[0], "version": 2}) == comparable(v2[0])
    # conn by conn (the order between connections is the scheduler's)
    conns1, conns2 = by_conn(v1), by_conn(v2)
    assert list(conns1) == list(conns2) == [1, 2, 3, 4]
    for conn, records in conns1.items():
        assert [comparable(r) for r in records] == [comparable(r) for r in conns2[conn]], conn
    kinds1 = {r["type"] for r in unexpanded[1]}
    assert "run" not in kinds1
    assert unexpanded[1] == v1  # nothing to expand in version 1
    runs2 = [r for r in unexpanded[2] if r["type"] == "run"]
    # either path wrote the ordinary commands as runs (e.g. the SB's ACK and MSG, sent in
    # one write, are one run of two commands)
    assert runs2
    assert any(r["count"] >= 2 for r in runs2)
