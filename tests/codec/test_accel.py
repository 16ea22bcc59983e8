"""Optional C accelerators: used only when built from these sources (their ``ABI``),
chosen by an argument that every layer passes down (the stream, the client, the server,
the replays, the demo); the environment switches are the command lines' only."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from msmgr import stream as stream_module
from msmgr.__main__ import build_parser as msmgr_parser
from msmgr.cli.client_options import make_session
from msmgr.cli.serve import build_config
from msmgr.client import Session
from msmgr.codec import Command, Direction, Framer, framer
from msmgr.codec.accel import load_accelerator
from msmgr.server import ServerConfig
from msmgr.stream import CommandStream, Role
from msproxy.__main__ import main as msproxy_main
from msproxy.capture import scan
from msproxy.cli import demo as cli_demo
from msproxy.cli import replay as cli_replay
from msproxy.cli import run as cli_run
from msproxy.demo import run_demo
from msproxy.inspect import load_capture, replay_as_client, serve_replay, serve_session_replay
from msproxy.proxy.config import ProxyConfig
from msproxy.proxy.relay import Relay
from tests.capture.conftest import MD5_CHAT

BUILT = framer._cframe is not None


@pytest.fixture(scope="module", autouse=True)
def framer_path() -> str:
    """This file is about the choice itself: run it once (overrides conftest's)."""
    return "both"


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Framer]:
    """Every framer a ``CommandStream`` makes while the test runs (the client's, the
    server's and the replays' connections all read through one)."""
    framers: list[Framer] = []
    real = Framer

    def spy(*args: Any, **kwargs: Any) -> Framer:
        framers.append(real(*args, **kwargs))
        return framers[-1]

    monkeypatch.setattr(stream_module, "Framer", spy)
    return framers


def fast(framers: list[Framer]) -> set[bool]:
    """Which paths ``framers`` take: True for the C accelerator, False for Python."""
    return {f._rules is not None for f in framers}


@pytest.mark.parametrize(
    ("name", "abi"),
    [("msmgr.codec._cframe", framer.CFRAME_ABI), ("msproxy.capture._scan", scan.SCAN_ABI)],
)
def test_a_build_of_these_sources_is_used_and_another_is_not(name: str, abi: int) -> None:
    module, why = load_accelerator(name, abi)
    assert module is not None, f"{name}: {why} (pip install -e '.[test]' rebuilds it)"
    assert why == ""
    assert abi == module.ABI
    # a module whose interface number is not the one the Python code expects
    stale, why = load_accelerator(name, abi + 1)
    assert stale is None
    assert why == (
        f"built from other sources (interface {abi}, these sources need {abi + 1}): "
        "reinstall to rebuild it"
    )


def test_a_missing_accelerator_is_not_built() -> None:
    assert load_accelerator("msmgr.codec._no_such_accelerator", 1) == (None, "not built")


def test_the_proxy_says_its_capture_extension_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_scan", None)
    monkeypatch.setattr(scan, "SCAN_MISSING", "built from other sources (...): reinstall")
    amiss, says = scan.fast_path_status()
    assert amiss
    assert says == (
        "pure Python: the C extension msproxy.capture._scan is built from other sources"
        " (...): reinstall"
    )
    assert not scan.accelerated()


def test_the_library_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(framer.PURE_PYTHON_ENV, "1")
    monkeypatch.setenv(scan.PURE_PYTHON_ENV, "1")
    assert not hasattr(framer, "use_accelerator")  # no process-wide switch
    assert framer.accelerated() is BUILT
    assert (Framer(Direction.C2S)._rules is not None) is BUILT
    assert scan.RecordScanner(1, Direction.C2S).accelerated is (scan._scan is not None)
    left, _ = trio.testing.memory_stream_pair()
    assert (CommandStream(left, Role.CLIENT).framer._rules is not None) is BUILT
    assert ServerConfig().accelerate is None
    assert Session("a@example.com", "pw").accelerate is None
    # the argument decides, for one framer or one stream
    assert Framer(Direction.C2S, accelerate=False)._rules is None
    assert CommandStream(left, Role.SERVER, accelerate=False).framer._rules is None
    if BUILT:
        assert Framer(Direction.C2S, accelerate=True)._rules is not None


@pytest.mark.parametrize("accelerate", [False, None])
async def test_the_demo_passes_the_choice_to_every_connection(
    accelerate: bool | None, made: list[Framer], tmp_path: Path
) -> None:
    """The reference server, both clients (DS, NS and switchboard connections) and
    nothing else decide: what the demo is given reaches each of their framers."""
    result = await run_demo(tmp_path / "demo.jsonl", codec_accelerate=accelerate)
    assert result.alice_received
    assert len(made) == 12  # 6 connections (DS, NS, SB for each client), both ends
    assert fast(made) == {accelerate is None and BUILT}


@pytest.mark.parametrize("accelerate", [False, None])
async def test_the_replays_pass_the_choice_to_their_connections(
    accelerate: bool | None, made: list[Framer]
) -> None:
    capture = load_capture(MD5_CHAT)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            serve = partial(serve_replay, capture, conn=3, step_timeout=5, accelerate=accelerate)
            ((host, port),) = await nursery.start(serve)
            stream = await trio.open_tcp_stream(host, port)
            report = await replay_as_client(
                capture, stream, conn=3, step_timeout=5, accelerate=accelerate
            )
            assert report.ok, report.format()
            session = partial(
                serve_session_replay, capture, step_timeout=0.5, accelerate=accelerate
            )
            ((host, port),) = await nursery.start(session)
            async with await trio.open_tcp_stream(host, port) as stream:
                await CommandStream(stream, Role.CLIENT, accelerate=accelerate).send(
                    Command("VER", 1, ("MSNP2", "CVR0"))
                )
    assert len(made) == 4  # serve_replay, replay_as_client, the session's and ours
    assert fast(made) == {accelerate is None and BUILT}


@pytest.fixture(params=["", "1"], ids=["unset", "pure"])
def pure(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """``MSMGR_PURE_PYTHON`` and ``MSPROXY_PURE_PYTHON`` unset (empty) or set."""
    value: str = request.param
    monkeypatch.setenv(framer.PURE_PYTHON_ENV, value)
    monkeypatch.setenv(scan.PURE_PYTHON_ENV, value)
    return bool(value)


def started(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[partial[Awaitable[Any]]]:
    """The coroutine functions ``module``'s command line hands to ``run_async``."""
    calls: list[partial[Awaitable[Any]]] = []

    def fake_run_async(fn: partial[Awaitable[Any]], *args: object, **kwargs: object) -> Any:
        calls.append(fn)
        raise KeyboardInterrupt  # stop the command here (status 130): it said what it runs

    monkeypatch.setattr(module, "run_async", fake_run_async)
    monkeypatch.setattr(module, "configure_logging", lambda *args, **kwargs: None, raising=False)
    return calls


def test_msproxy_run_reads_the_switches_and_passes_them_down(
    pure: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = started(monkeypatch, cli_run)
    argv = ["run", "--listen", "127.0.0.1:0", "--capture", str(tmp_path / "c.jsonl")]
    assert msproxy_main(argv) == 130
    (config,) = [fn.args[0] for fn in calls]
    assert isinstance(config, ProxyConfig)
    assert config.accelerate is (False if pure else None)
    assert config.codec_accelerate is (False if pure else None)


@pytest.mark.parametrize("accelerate", [False, None])
def test_the_relays_framers_take_the_codec_choice(accelerate: bool | None) -> None:
    relay = Relay(1, client="127.0.0.1:5", accelerate=accelerate)
    expected = BUILT and accelerate is None
    assert [way.framer._rules is not None for way in relay._ways] == [expected, expected]


async def test_msproxy_runs_its_embedded_server_as_told(
    pure: bool, made: list[Framer], tmp_path: Path
) -> None:
    config = ProxyConfig(upstream=("", 0), listen=("127.0.0.1", 0), capture=tmp_path / "c.jsonl")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            run = partial(cli_run.run, config, embedded=True, out=io.StringIO())
            listening = await nursery.start(run)
            async with await trio.open_tcp_stream(*listening.address) as stream:
                client = CommandStream(stream, Role.CLIENT, accelerate=False)
                await client.send(Command("VER", 1, ("MSNP7", "CVR0")))
                await client.receive()
            nursery.cancel_scope.cancel()
    server = [f for f in made if f.direction is Direction.C2S]
    assert len(server) == 1
    assert fast(server) == {not pure and BUILT}


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        (cli_demo, ["demo"]),
        (cli_replay, ["replay", str(MD5_CHAT), "--as-server"]),
        (cli_replay, ["replay", str(MD5_CHAT), "--as-server", "--conn", "3"]),
        (cli_replay, ["replay", str(MD5_CHAT), "--as-client", "--server", "h:1"]),
    ],
)
def test_msproxy_demo_and_replay_read_the_switch_and_pass_it_down(
    pure: bool, module: Any, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # (the demo makes its capture folder here)
    calls = started(monkeypatch, module)
    assert msproxy_main(argv) == 130
    (fn,) = calls
    if module is cli_demo:
        assert fn.keywords["codec_accelerate"] is (False if pure else None)
        assert fn.keywords["accelerate"] is (False if pure else None)  # the capture's
    else:
        play = fn.args[-1]  # the replay's keyword arguments (cli_replay.Play)
        assert play["accelerate"] is (False if pure else None)


@pytest.mark.parametrize(
    ("argv", "built"),
    [
        (["serve"], lambda args: build_config(args)),
        (
            ["send", "--user", "a@example.com", "--password", "pw", "--to", "b@example.com", "hi"],
            lambda args: make_session(args),
        ),
    ],
    ids=["serve", "client"],
)
def test_msmgr_reads_the_switch_and_passes_it_down(
    pure: bool, argv: list[str], built: Callable[[Any], Any]
) -> None:
    made = built(msmgr_parser().parse_args(argv))
    assert made.accelerate is (False if pure else None)
