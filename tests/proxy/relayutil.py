"""Helpers for driving a Relay in tests without sockets."""

from __future__ import annotations

import json

from msproxy.capture import Record, rebuild, run_records
from msproxy.capture.encode import RecordRun
from msproxy.proxy.commands import (
    CloseSide,
    ForwardUnframed,
    OpenUpstream,
    ProxyCommand,
    RequestRedirect,
    SendData,
    WriteRecords,
)
from msproxy.proxy.events import DataReceived, RedirectReady, Side, UpstreamOpened
from msproxy.proxy.relay import Relay, RelayState


def sent(commands: list[ProxyCommand], side: Side) -> bytes:
    """Every byte the commands write to ``side``."""
    return b"".join(c.data for c in commands if isinstance(c, SendData) and c.side is side)


def records(commands: list[ProxyCommand]) -> list[Record]:
    """Every capture record the commands carry, in order (C-encoded runs decoded)."""
    found: list[Record] = []
    for command in commands:
        if isinstance(command, WriteRecords):
            for record in command.records:
                if isinstance(record, RecordRun):
                    # both versions: cmd records, or run records read back as cmd records
                    lines = record.encode(1).splitlines()
                    assert len(lines) == record.count
                    found.extend(json.loads(line) for line in lines)
                    runs = [json.loads(line) for line in record.encode(2).splitlines()]
                    assert {r["type"] for r in runs} <= {"run", "cmd"}
                    again = [
                        c for r in runs for c in (run_records(r) if r["type"] == "run" else [r])
                    ]
                    assert again == found[-len(lines) :]
                else:
                    found.append(record)
    return found


def closes(commands: list[ProxyCommand]) -> list[CloseSide]:
    return [c for c in commands if isinstance(c, CloseSide)]


def rebuilt(recs: list[Record], direction: str) -> bytes:
    """The bytes of one direction as the capture records tell them."""
    return b"".join(rebuild(r) for r in recs if r.get("dir") == direction)


class Driver:
    """Runs a Relay like the trio driver would: answers blocking commands at once, and
    once told ``ForwardUnframed``, sends client chunks on before handing them in."""

    def __init__(self, relay: Relay, *, local: str | None = "127.0.0.1:1863") -> None:
        self.relay = relay
        self.local = local
        self.log: list[ProxyCommand] = []
        self.redirects: list[RequestRedirect] = []
        self.opens: list[OpenUpstream] = []
        self.unframed = False

    def feed(self, side: Side, data: bytes, t: float = 0.0) -> list[ProxyCommand]:
        """Hand in a chunk read from ``side``; every command that follows, in order (a
        client chunk forwarded unframed shows as the ``SendData`` before them)."""
        done: list[ProxyCommand] = []
        if self.unframed and side is Side.CLIENT and not self.relay.closed:
            done.append(SendData(side=Side.UPSTREAM, data=data))
        done += self.run(self.relay.handle(DataReceived(side=side, data=data, t=t)))
        self.log += done
        return done

    def run(self, commands: list[ProxyCommand]) -> list[ProxyCommand]:
        done: list[ProxyCommand] = []
        for command in commands:
            done.append(command)
            if isinstance(command, ForwardUnframed):
                assert command.side is Side.CLIENT
                assert not self.unframed, "ForwardUnframed comes once"
                self.unframed = True
            elif isinstance(command, OpenUpstream):
                self.opens.append(command)
                done += self.run(
                    self.relay.handle(UpstreamOpened(upstream="10.0.0.1:1863", role="DS"))
                )
            elif isinstance(command, RequestRedirect):
                self.redirects.append(command)
                done += self.run(self.relay.handle(RedirectReady(address=self.local)))
        return done


def started(**kwargs: object) -> tuple[Relay, Driver]:
    """A relay given ``kwargs``, its driver, and an MSNP8 ``VER`` that opened the upstream."""
    relay = Relay(1, client="127.0.0.1:5000", **kwargs)  # type: ignore[arg-type]
    driver = Driver(relay)
    driver.feed(Side.CLIENT, b"VER 1 MSNP8 CVR0\r\n")
    assert relay.state is RelayState.RELAYING
    return relay, driver
