"""Each fault action end to end: a client, the proxy with ``--fault`` rules, a scripted
server, all on 127.0.0.1; what each side got and what the capture says."""

from __future__ import annotations

import io
import logging
from functools import partial
from pathlib import Path

import pytest
import trio

from msproxy.capture import read_capture
from msproxy.cli.run import run
from msproxy.faults import parse_rule
from msproxy.inspect import load_capture, rebuild_direction
from msproxy.inspect.show import show_lines
from msproxy.inspect.summary import error_table
from msproxy.proxy.config import ProxyConfig, open_tcp
from tests.proxy.test_cli_run import one_version_exchange

from .scripted import VER, VER_REPLY, through_proxy

NLN = [f"NLN NLN user{i}@x.com User{i} 0\r\n".encode() for i in range(1, 4)]
QNG = b"QNG 50\r\n"
CHG = b"CHG 2 NLN 0\r\n"


async def test_drop_the_nth_command(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sent = VER_REPLY + b"".join(NLN) + QNG
    with caplog.at_level(logging.WARNING, logger="msproxy"):
        out = await through_proxy(
            tmp_path, ["action=drop,cmd=NLN,role=DS,nth=2"], server=[(VER, sent)]
        )
    assert bytes(out.client.received) == sent.replace(NLN[1], b"")
    assert out.client.eof
    (fault,) = out.of("fault")
    assert fault["action"] == "drop"
    assert (fault["cmd"], fault["dir"], fault["rule"]) == ("NLN", "s2c", 1)
    assert (fault["offset"], fault["size"]) == (sent.index(NLN[1]), len(NLN[1]))
    # The capture still has every command the proxy read, the dropped one included.
    assert [r["cmd"] for r in out.of("cmd") if r["dir"] == "s2c"] == ["VER", *["NLN"] * 3, "QNG"]
    assert out.records[0]["faults"] == ["action=drop,cmd=NLN,role=DS,nth=2"]
    shown = [m for m in caplog.messages if "fault drop on NLN s2c (rule 1:" in m]
    assert len(shown) == 1
    capture = load_capture(tmp_path / "faults.jsonl")
    lines = [line for line in show_lines(capture) if "fault" in line]
    assert len(lines) == 1
    assert lines[0].endswith(f"!! fault drop NLN (s2c) at byte {fault['offset']}, rule 1")
    rows = [row for row in error_table(capture).rows if row[3] == "fault drop"]
    assert len(rows) == 1


async def test_delay_keeps_the_order(tmp_path: Path) -> None:
    sent = VER_REPLY + NLN[0] + QNG
    rule = "action=delay,ms=150,cmd=NLN,dir=s2c"
    out = await through_proxy(tmp_path, [rule], server=[(VER, sent)])
    assert bytes(out.client.received) == sent  # QNG waited behind the held NLN
    assert out.elapsed >= 0.15
    (fault,) = out.of("fault")
    assert (fault["action"], fault["cmd"], fault["ms"]) == ("delay", "NLN", 150)


async def test_reset_closes_both_sides_before_the_command(tmp_path: Path) -> None:
    out = await through_proxy(
        tmp_path,
        ["action=reset,cmd=CHG,dir=c2s"],
        server=[(VER, VER_REPLY)],
        client=[(VER_REPLY, CHG)],
        server_closes=False,
    )
    assert bytes(out.server.received) == VER  # never the CHG
    assert out.server.eof
    assert out.client.eof
    assert bytes(out.client.received) == VER_REPLY
    (close,) = out.of("close")
    assert (close["by"], close["reason"]) == ("proxy", "fault: reset on CHG c2s (rule 1)")
    assert [r["type"] for r in out.records[-3:]] == ["fault", "cmd", "close"]
    assert out.records[-2]["cmd"] == "CHG"  # recorded: the proxy read it


async def test_reset_on_a_redirect(tmp_path: Path) -> None:
    xfr = b"XFR 2 NS 127.0.0.1:9 0 127.0.0.1:1863\r\n"
    out = await through_proxy(
        tmp_path, ["action=reset,cmd=XFR"], server=[(VER, VER_REPLY + xfr)], server_closes=False
    )
    assert bytes(out.client.received) == VER_REPLY
    assert out.client.eof
    assert out.server.eof
    (fault,) = out.of("fault")
    assert (fault["cmd"], fault["offset"]) == ("XFR", len(VER_REPLY))
    assert out.of("close")[0]["reason"] == "fault: reset on XFR s2c (rule 1)"


async def test_stall_stops_one_direction_and_keeps_the_connection(tmp_path: Path) -> None:
    out = await through_proxy(
        tmp_path,
        ["action=stall,cmd=NLN,dir=s2c,nth=2"],
        server=[(VER, VER_REPLY + NLN[0] + NLN[1]), (CHG, QNG)],
        client=[(VER_REPLY + NLN[0], CHG)],
    )
    assert bytes(out.client.received) == VER_REPLY + NLN[0]  # then only the end of stream
    assert bytes(out.server.received) == VER + CHG  # the other way still went on
    (fault,) = out.of("fault")
    assert (fault["action"], fault["offset"]) == ("stall", len(VER_REPLY + NLN[0]))
    assert [r["cmd"] for r in out.of("cmd") if r["dir"] == "s2c"] == ["VER", "NLN", "NLN", "QNG"]
    assert out.of("close")[0]["reason"] == "end of stream"


class Recording(trio.abc.HalfCloseableStream):
    """A stream that notes the size of every write (the proxy's writes upstream)."""

    def __init__(self, inner: trio.SocketStream, writes: list[int]) -> None:
        self.inner, self.writes = inner, writes

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(len(data))
        await self.inner.send_all(data)

    async def send_eof(self) -> None:
        await self.inner.send_eof()

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_rechunk_writes_in_pieces(tmp_path: Path) -> None:
    writes: list[int] = []

    async def connect(host: str, port: int) -> trio.abc.Stream:
        stream = await open_tcp(host, port)
        assert isinstance(stream, trio.SocketStream)
        return Recording(stream, writes)

    out = await through_proxy(
        tmp_path,
        ["action=rechunk,bytes=3,dir=c2s"],
        server=[(VER, VER_REPLY), (CHG, QNG)],
        client=[(VER_REPLY, CHG)],
        connect=connect,
    )
    assert bytes(out.server.received) == VER + CHG
    assert bytes(out.client.received) == VER_REPLY + QNG
    assert writes == [3] * 6 + [3] * 4 + [1]  # VER: 18 bytes, CHG: 13
    assert [(r["cmd"], r["bytes"]) for r in out.of("fault")] == [("VER", 3), ("CHG", 3)]


async def test_cut_after_some_bytes(tmp_path: Path) -> None:
    sent = VER_REPLY + b"".join(NLN)
    out = await through_proxy(
        tmp_path, ["action=cut,after=20,dir=s2c"], server=[(VER, sent)], server_closes=False
    )
    assert bytes(out.client.received) == sent[:20]
    assert out.client.eof
    assert out.server.eof
    (fault,) = out.of("fault")
    assert (fault["action"], fault["after"], fault["cmd"]) == ("cut", 20, "VER")
    assert out.of("close")[0]["by"] == "proxy"
    assert out.of("close")[0]["reason"] == "fault: cut s2c after 20 bytes (rule 1)"


async def test_the_command_line_run_with_faults_against_the_embedded_server(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "c.jsonl"
    out = io.StringIO()
    rule = parse_rule("action=delay,ms=1,cmd=VER,dir=s2c")
    config = ProxyConfig(upstream=("", 0), listen=("127.0.0.1", 0), capture=capture, faults=(rule,))
    await one_version_exchange(partial(run, config, embedded=True, out=out))
    assert out.getvalue().splitlines()[1:] == ["fault rule 1: action=delay,ms=1,cmd=VER,dir=s2c"]
    records = list(read_capture(capture))
    assert records[0]["faults"] == [str(rule)]
    assert [r["type"] for r in records[1:]] == ["open", "cmd", "fault", "cmd", "close"]


def test_a_bad_fault_rule_stops_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from msproxy.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["run", "--fault", "action=drop,cmd=NLN", "--fault", "action=delay,ms=soon"])
    assert exc.value.code == 2
    assert "argument --fault: fault rule 'action=delay,ms=soon': ms: 'soon' is not a number" in (
        capsys.readouterr().err
    )


async def test_prob_with_a_seed_gives_the_same_faults_each_run(tmp_path: Path) -> None:
    presence = [f"NLN NLN u{i}@x.com U{i} 0\r\n".encode() for i in range(40)]
    sent = VER_REPLY + b"".join(presence)
    outcomes = []
    for run_number in range(2):
        folder = tmp_path / str(run_number)
        folder.mkdir()
        rule = "action=drop,cmd=NLN,prob=0.5,seed=11"
        outcomes.append(await through_proxy(folder, [rule], server=[(VER, sent)]))
    first, second = outcomes
    dropped = [r["offset"] for r in first.of("fault")]
    assert dropped == [r["offset"] for r in second.of("fault")]
    assert 5 < len(dropped) < 35  # some, not all
    assert bytes(first.client.received) == bytes(second.client.received)
    kept = b"".join(p for p in presence if sent.index(p) not in dropped)
    assert bytes(first.client.received) == VER_REPLY + kept


@pytest.mark.parametrize(
    ("rule", "server_closes"),
    [
        ("action=drop,cmd=NLN,nth=2", True),
        ("action=drop,cmd=NLN,every=1", True),
        ("action=stall,cmd=NLN,nth=2", True),
        ("action=reset,cmd=NLN,nth=3", False),
        ("action=cut,after=30,dir=s2c", False),
        ("action=delay,ms=10,cmd=NLN", True),
    ],
)
async def test_as_received_bytes_are_what_each_side_got(
    tmp_path: Path, rule: str, server_closes: bool
) -> None:
    """``rebuild_direction(..., as_received=True)`` applies the ``fault`` records."""
    sent = VER_REPLY + b"".join(NLN) + QNG
    out = await through_proxy(
        tmp_path,
        [rule, "action=drop,cmd=NLN,nth=1"],
        server=[(VER, sent)],
        server_closes=server_closes,
    )
    (conn,) = {r["conn"] for r in out.of("open")}
    assert rebuild_direction(out.records, conn, "s2c", as_received=True) == out.client.received
    assert rebuild_direction(out.records, conn, "c2s", as_received=True) == out.server.received
    assert rebuild_direction(out.records, conn, "s2c") == sent  # as sent: every byte read
