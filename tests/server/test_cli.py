"""``msmgr serve``: arguments, the users file, and a run stopped by SIGINT."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import pytest
import trio

from msmgr.cli.serve import build_config, read_users_file, register, serve_until_signal
from msmgr.server import DEMO_NAMES, DEMO_USERS, ServerAddresses, ServerConfig, serve_reference

from .helpers import ScriptedClient, hello, login


def build_parser() -> argparse.ArgumentParser:
    """A parser with only ``serve`` (the real CLI's other sub-commands are not needed here)."""
    parser = argparse.ArgumentParser(prog="msmgr")
    register(parser.add_subparsers(dest="command"))
    return parser


def test_defaults_are_demo_users_and_ds_port_1863() -> None:
    config = build_config(build_parser().parse_args(["serve"]))
    assert config.users == DEMO_USERS
    assert config.names == DEMO_NAMES
    assert (config.host, config.ds_port, config.ns_port, config.sb_port) == (
        "127.0.0.1",
        1863,
        0,
        0,
    )


def test_users_from_file_and_options(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# accounts\n\ndave@example.com:pw:with:colons\n  erin@example.com:x  \n")
    args = build_parser().parse_args(
        ["serve", "--users-file", str(users), "--user", "frank@example.com:f", "--ds-port", "0"]
    )
    config = build_config(args)
    assert config.users == {
        "dave@example.com": "pw:with:colons",
        "erin@example.com": "x",
        "frank@example.com": "f",
    }
    assert config.names == {}  # named accounts start with their e-mail as friendly name
    assert config.ds_port == 0


@pytest.mark.parametrize(
    ("names", "shown"),
    [(DEMO_NAMES, ("Alice", "Bob")), ({}, ("alice@example.com", "bob@example.com"))],
    ids=["demo-names", "no-names"],
)
async def test_demo_friendly_names_are_served(
    nursery: trio.Nursery, names: dict[str, str], shown: tuple[str, str]
) -> None:
    config = ServerConfig(names=dict(names))
    addrs: ServerAddresses = await nursery.start(serve_reference, config)  # its own state
    with trio.fail_after(10):
        alice, ok = await login(addrs, "alice@example.com", "alice-password", 8)
        assert ok.args[:3] == ("OK", "alice@example.com", shown[0])
        await alice.send("SYN", "0")
        lst = [c for c in await alice.sync() if c.verb == "LST"]
        assert lst[0].args[:2] == ("bob@example.com", shown[1])
        await alice.aclose()


def test_bad_users_file_line_is_named(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("ok@example.com:pw\nnot-an-account\n")
    with pytest.raises(ValueError, match=r"users.txt:2"):
        read_users_file(users)


def test_bad_user_option_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--user", "nocolon"])
    assert "EMAIL:PASSWORD" in capsys.readouterr().err


async def test_serve_prints_addresses_and_stops_on_sigint() -> None:
    config = build_config(build_parser().parse_args(["serve", "--ds-port", "0"]))
    lines: list[str] = []
    ready = trio.Event()

    def out(line: str) -> None:
        lines.append(line)
        if line.startswith("accounts:"):
            ready.set()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve_until_signal, config, out)
            await ready.wait()
            ds = lines[0].split()[-1].rpartition(":")
            client = await ScriptedClient.connect((ds[0], int(ds[2])))
            await hello(client, 8)
            await client.aclose()
            signal.raise_signal(signal.SIGINT)
    assert lines[3].endswith("/rdr/pprdr.asp")
