"""msmgr/server/config: what the reference server is told and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field

from msmgr.serving import ConnectionLimits

from .limits import SWEEP_INTERVAL

DEMO_USERS: dict[str, str] = {
    "alice@example.com": "alice-password",
    "bob@example.com": "bob-password",
    "carol@example.com": "carol-password",
}
"""The accounts served when none are given; every configured account has all the others
on its FL, AL and RL, so presence and switchboards work out of the box."""

DEMO_NAMES: dict[str, str] = {
    "alice@example.com": "Alice",
    "bob@example.com": "Bob",
    "carol@example.com": "Carol",
}
"""The friendly names the demo accounts serve, as if they had set them (REA / PRP MFN).
Only ``ServerConfig``'s default uses them; ``ServerState.from_users`` alone does not."""

SEND_QUEUE_SIZE = 256
"""Commands that may wait for one slow client before it is dropped (see connection.py)."""

SEND_TIMEOUT = 30.0
"""Seconds one write to a client may take before the client is dropped."""


def _demo_users() -> dict[str, str]:
    return dict(DEMO_USERS)


def _demo_names() -> dict[str, str]:
    return dict(DEMO_NAMES)


@dataclass
class ServerConfig:
    """Where the reference server listens, whom it knows, and how strict it is.

    Attributes:
        host: the address all roles bind to.
        ds_port, ns_port, sb_port, http_port: the ports (0 = any free port).
        users: e-mail -> password; all of them are each other's contacts.
        names: e-mail -> URL-encoded friendly name for accounts that start with one set
            (default: ``DEMO_NAMES``); the others show their handle.
        advertise_host: the host put in XFR and RNG (default: ``host``).
        challenge_interval: seconds between CHLs after the first one (MSNP6+);
            None = only the one after the first CHG.
        chl_timeout: seconds a client has to answer a CHL before it is disconnected.
        send_queue: commands queued for one client before it counts as stalled.
        send_timeout: seconds one write may take before the client is dropped.
        accelerate: the codec's C accelerator on every connection (``Framer``); None
            (the default): when it is built.
        sweep_interval: seconds between sweeps of expired tickets, cookies, invitations
            and failed-login counts (``ServerState.sweep``).
        connection_limits: connections open at once, all roles together, in total and
            per client address (``msmgr.serving``); more are accepted and closed at once.
    """

    host: str = "127.0.0.1"
    ds_port: int = 0
    ns_port: int = 0
    sb_port: int = 0
    http_port: int = 0
    users: dict[str, str] = field(default_factory=_demo_users)
    names: dict[str, str] = field(default_factory=_demo_names)
    advertise_host: str | None = None
    challenge_interval: float | None = None
    chl_timeout: float = 50.0
    send_queue: int = SEND_QUEUE_SIZE
    send_timeout: float = SEND_TIMEOUT
    accelerate: bool | None = None
    sweep_interval: float = SWEEP_INTERVAL
    connection_limits: ConnectionLimits = field(default_factory=ConnectionLimits)


@dataclass(frozen=True)
class ServerAddresses:
    """The bound (host, port) of each role, reported by ``serve_reference`` when ready."""

    ds: tuple[str, int]
    ns: tuple[str, int]
    sb: tuple[str, int]
    http: tuple[str, int]

    @property
    def nexus_url(self) -> str:
        """The Passport nexus URL (plain HTTP) of this server."""
        host, port = self.http
        return f"http://{host}:{port}/rdr/pprdr.asp"
