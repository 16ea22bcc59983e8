"""The proxy as a library (``msproxy.proxy.serve_proxy`` in the test's own nursery), and
``msproxy show --bytes`` giving back exactly what the client received through it."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

import msproxy.proxy
from msproxy.__main__ import main
from msproxy.capture import read_capture
from msproxy.proxy import ProxyConfig, ProxyListening, serve_proxy

from .world import ClientRun, World, client_script


def test_serve_proxy_and_its_configuration_are_public() -> None:
    for name in ("serve_proxy", "ProxyConfig", "ProxyListening", "UpstreamLoopError"):
        assert name in msproxy.proxy.__all__


async def test_show_bytes_is_what_the_client_received(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    world, run = World(), ClientRun()
    capture = tmp_path / "session.jsonl"
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await world.start(nursery)
            config = ProxyConfig(
                upstream=world.ds, listen=("127.0.0.1", 0), capture=capture, redact=False
            )
            listening: ProxyListening = await nursery.start(serve_proxy, config)
            await client_script(listening.address, 7, "alice@x.com", run=run)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
    conns = list(dict.fromkeys(r["conn"] for r in list(read_capture(capture))[1:]))
    assert len(conns) == len(run.taps) >= 3  # DS, NS and at least one SB, in this order
    capsysbinary.readouterr()
    for conn, tap in zip(conns, run.taps, strict=True):
        assert (
            main(
                [
                    "show",
                    str(capture),
                    "--bytes",
                    "--conn",
                    str(conn),
                    "--dir",
                    "s2c",
                    "--as-received",
                ]
            )
            == 0
        )
        assert capsysbinary.readouterr().out == bytes(tap.received)
        assert main(["show", str(capture), "--bytes", "--conn", str(conn), "--dir", "c2s"]) == 0
        assert capsysbinary.readouterr().out == bytes(tap.sent)
