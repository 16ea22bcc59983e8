"""msproxy.pytest_plugin: MSNP sessions in tests (registered through ``pytest11``).

Fixtures:

* ``msnp_server``: the reference server (``@pytest.mark.msnp_accounts({...})``).
* ``msnp_proxy``: ``msproxy run`` in front of ``msnp_server``, or of the upstream named
  by ``@pytest.mark.msnp_upstream("HOST:PORT")`` or ``--msnp-upstream``;
  ``@pytest.mark.msnp_proxy(redact=False, ...)`` passes ``ProxyConfig`` fields.
* ``msnp_cassette``: record the session through the proxy once, replay it afterwards
  without the upstream (``@pytest.mark.msnp_cassette(name, step_timeout=...)``,
  ``--msnp-record-mode``, ini ``msnp_cassette_dir``). A client that says something the
  recording did not fails the test with the replay's account of the difference.
  Passport 1.4 (MSNP8 and later) is HTTP, not MSNP: ``msnp_cassette.nexus_url`` is the
  reference server's nexus while replaying too (it knows the ``msnp_accounts``).

Synchronous tests get their services in a trio loop on a thread of their own
(``BackgroundLoop``), started and stopped by the fixture. Trio tests (pytest-trio) get
them in their own trio run: the public fixture is synchronous and, for a trio test,
hands back the value of a private async fixture, which pytest-trio sets up and tears
down inside the test's run like any async fixture it finds among the test's arguments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from msmgr.codec.address import parse_address
from msmgr.server import DEMO_USERS
from msproxy.fixtures import (
    BackgroundLoop,
    CassetteMissing,
    CassettePlan,
    MsnpCassette,
    MsnpProxy,
    MsnpServer,
    open_proxy,
    open_reference_server,
    open_replay,
    plan_cassette,
)
from msproxy.fixtures.cassette import DEFAULT_FOLDER, RECORD_MODES, cassette_path
from msproxy.fixtures.services import ReplayOutcome

STEP_TIMEOUT = 5.0
"""Seconds a cassette's replay waits for each client command, unless the marker says."""

MARKERS = (
    "msnp_accounts(accounts): the accounts (handle -> password) msnp_server serves",
    "msnp_upstream(address): the HOST:PORT msnp_proxy and recording cassettes connect to",
    "msnp_proxy(**options): ProxyConfig fields for msnp_proxy (redact=False, ...)",
    "msnp_cassette(name=None, *, step_timeout=5.0): the cassette msnp_cassette records "
    "and replays (default name: the test's)",
)


@dataclass(slots=True)
class _PendingReplay:
    """A cassette replay to check once the test has run."""

    path: Path
    outcome: ReplayOutcome
    finish: Callable[[], None]  # waits for the replay's end (nothing to do in trio tests)


_PASSED = pytest.StashKey[bool]()
_PLAN = pytest.StashKey[CassettePlan]()
_REPLAY = pytest.StashKey[_PendingReplay]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("msnp", "MSNP sessions (msproxy)")
    group.addoption(
        "--msnp-upstream",
        metavar="HOST:PORT",
        help="the server msnp_proxy and recording cassettes connect to "
        "(default: the embedded reference server, msnp_server)",
    )
    group.addoption(
        "--msnp-record-mode",
        choices=RECORD_MODES,
        default="once",
        help="cassettes: 'once' records what is missing (default), 'none' only replays, "
        "'all' records everything again",
    )
    parser.addini(
        "msnp_cassette_dir",
        f"the folder of msnp_cassette's cassettes, from the rootdir (default {DEFAULT_FOLDER})",
        default=DEFAULT_FOLDER,
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After a passing test, a cassette's replay must have gone as recorded; after a
    failing one, what the replay saw is shown with the failure."""
    try:
        result = yield
    except BaseException:
        pending = item.stash.get(_REPLAY, None)
        if pending is not None:
            pending.finish()
            if not pending.outcome.ok:
                item.add_report_section("call", "msnp cassette", pending.outcome.format())
        raise
    pending = item.stash.get(_REPLAY, None)
    if pending is not None:
        pending.finish()
        if not pending.outcome.ok:
            pytest.fail(
                f"the session differs from the cassette {pending.path}:\n"
                + pending.outcome.format(),
                pytrace=False,
            )
    return result


def _is_trio(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("trio") is not None


def _marker_kwargs(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(name)
    return dict(marker.kwargs) if marker is not None else {}


def _accounts(request: pytest.FixtureRequest) -> Mapping[str, str]:
    marker = request.node.get_closest_marker("msnp_accounts")
    if marker is None:
        return dict(DEMO_USERS)
    accounts = marker.args[0] if marker.args else marker.kwargs.get("accounts")
    if not isinstance(accounts, Mapping) or not accounts:
        raise pytest.UsageError("msnp_accounts takes a mapping of handle -> password")
    return dict(accounts)


def _configured_upstream(request: pytest.FixtureRequest) -> tuple[str, int] | None:
    marker = request.node.get_closest_marker("msnp_upstream")
    text = marker.args[0] if marker is not None and marker.args else None
    text = text or request.config.getoption("msnp_upstream")
    if not text:
        return None
    try:
        return parse_address(str(text))
    except ValueError as exc:
        raise pytest.UsageError(f"msnp upstream: {exc}") from None


def _upstream_or_server(request: pytest.FixtureRequest) -> tuple[str, int] | MsnpServer:
    """The configured upstream, else ``msnp_server`` (in a trio test, pytest-trio's
    placeholder for it, which it resolves for the fixture that takes this value)."""
    configured = _configured_upstream(request)
    if configured is not None:
        return configured
    return cast(MsnpServer, request.getfixturevalue("msnp_server"))


def _address(upstream: tuple[str, int] | MsnpServer) -> tuple[str, int]:
    return (upstream.host, upstream.port) if isinstance(upstream, MsnpServer) else upstream


@pytest.fixture
def _msnp_loop() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop()
    try:
        yield loop
    finally:
        loop.close()


# msnp_server -------------------------------------------------------------------------


@pytest.fixture
def msnp_server(request: pytest.FixtureRequest) -> Iterator[MsnpServer]:
    """The embedded reference server on free ports: ``.host``, ``.port`` (dispatch),
    ``.nexus_url``, ``.accounts`` (``@pytest.mark.msnp_accounts`` chooses them)."""
    if _is_trio(request):
        yield cast(MsnpServer, request.getfixturevalue("_msnp_server_trio"))
        return
    loop: BackgroundLoop = request.getfixturevalue("_msnp_loop")
    server, leave = loop.enter(open_reference_server(_accounts(request)))
    try:
        yield server
    finally:
        leave()


@pytest.fixture
async def _msnp_server_trio(request: pytest.FixtureRequest) -> AsyncIterator[MsnpServer]:
    async with open_reference_server(_accounts(request)) as server:
        yield server


# msnp_proxy --------------------------------------------------------------------------


@pytest.fixture
def msnp_proxy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MsnpProxy]:
    """``msproxy run`` for the test: ``.host``, ``.port``, ``.capture_path``,
    ``.records()``; upstream ``msnp_server`` unless ``msnp_upstream`` names another."""
    if _is_trio(request):
        yield cast(MsnpProxy, request.getfixturevalue("_msnp_proxy_trio"))
        return
    upstream = _address(_upstream_or_server(request))
    loop: BackgroundLoop = request.getfixturevalue("_msnp_loop")
    options = _marker_kwargs(request, "msnp_proxy")
    proxy, leave = loop.enter(open_proxy(upstream, tmp_path / "msnp-proxy.jsonl", options))
    try:
        yield proxy
    finally:
        leave()


@pytest.fixture
def _msnp_proxy_upstream(request: pytest.FixtureRequest) -> tuple[str, int] | MsnpServer:
    return _upstream_or_server(request)


@pytest.fixture
async def _msnp_proxy_trio(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _msnp_proxy_upstream: tuple[str, int] | MsnpServer,
) -> AsyncIterator[MsnpProxy]:
    options = _marker_kwargs(request, "msnp_proxy")
    capture = tmp_path / "msnp-proxy.jsonl"
    async with open_proxy(_address(_msnp_proxy_upstream), capture, options) as proxy:
        yield proxy


# msnp_cassette -----------------------------------------------------------------------


def _plan(request: pytest.FixtureRequest) -> CassettePlan:
    marker = request.node.get_closest_marker("msnp_cassette")
    name = marker.args[0] if marker is not None and marker.args else request.node.name
    folder = request.config.rootpath / str(request.config.getini("msnp_cassette_dir"))
    path = cassette_path(folder, Path(request.node.path), str(name))
    mode = str(request.config.getoption("msnp_record_mode"))
    try:
        return plan_cassette(path, mode, request.node.nodeid)
    except CassetteMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def _step_timeout(request: pytest.FixtureRequest) -> float:
    return float(_marker_kwargs(request, "msnp_cassette").get("step_timeout", STEP_TIMEOUT))


@pytest.fixture
def msnp_cassette(request: pytest.FixtureRequest) -> Iterator[MsnpCassette]:
    """The test's cassette: ``.host``, ``.port`` (where its clients connect), ``.mode``,
    ``.path``, ``.recording``. Recording goes through the proxy to the real upstream;
    replaying never contacts it."""
    plan = _plan(request)
    request.node.stash[_PLAN] = plan
    try:
        if _is_trio(request):
            yield cast(MsnpCassette, request.getfixturevalue("_msnp_cassette_trio"))
        elif plan.recording:
            yield from _record_sync(request, plan)
        else:
            yield from _replay_sync(request, plan)
    finally:
        plan.keep(passed=request.node.stash.get(_PASSED, False))


def _record_sync(request: pytest.FixtureRequest, plan: CassettePlan) -> Iterator[MsnpCassette]:
    upstream = _upstream_or_server(request)
    loop: BackgroundLoop = request.getfixturevalue("_msnp_loop")
    options = _marker_kwargs(request, "msnp_proxy")
    proxy, leave = loop.enter(open_proxy(_address(upstream), plan.partial, options))
    try:
        yield _recording(plan, proxy, upstream)
    finally:
        leave()


def _recording(
    plan: CassettePlan, proxy: MsnpProxy, upstream: tuple[str, int] | MsnpServer
) -> MsnpCassette:
    nexus = upstream.nexus_url if isinstance(upstream, MsnpServer) else None
    return MsnpCassette(proxy.host, proxy.port, plan.mode, plan.path, True, nexus)


def _replay_sync(request: pytest.FixtureRequest, plan: CassettePlan) -> Iterator[MsnpCassette]:
    loop: BackgroundLoop = request.getfixturevalue("_msnp_loop")
    timeout = _step_timeout(request)
    nexus, leave_nexus = loop.enter(open_reference_server(_accounts(request)))
    try:
        replay, leave = loop.enter(open_replay(plan.path, step_timeout=timeout))
        request.node.stash[_REPLAY] = _PendingReplay(
            plan.path, replay.outcome, lambda: loop.run(replay.finish, 2 * timeout)
        )
        try:
            yield MsnpCassette(
                replay.host, replay.port, plan.mode, plan.path, False, nexus.nexus_url
            )
        finally:
            leave()
    finally:
        leave_nexus()


@pytest.fixture
def _msnp_cassette_upstream(request: pytest.FixtureRequest) -> tuple[str, int] | MsnpServer | None:
    return _upstream_or_server(request) if request.node.stash[_PLAN].recording else None


@pytest.fixture
async def _msnp_cassette_trio(
    request: pytest.FixtureRequest,
    _msnp_cassette_upstream: tuple[str, int] | MsnpServer | None,
) -> AsyncIterator[MsnpCassette]:
    plan = request.node.stash[_PLAN]
    if _msnp_cassette_upstream is not None:
        options = _marker_kwargs(request, "msnp_proxy")
        upstream = _address(_msnp_cassette_upstream)
        async with open_proxy(upstream, plan.partial, options) as proxy:
            yield _recording(plan, proxy, _msnp_cassette_upstream)
        return
    timeout = _step_timeout(request)
    async with (
        open_reference_server(_accounts(request)) as nexus,
        open_replay(plan.path, step_timeout=timeout) as replay,
    ):
        request.node.stash[_REPLAY] = _PendingReplay(plan.path, replay.outcome, lambda: None)
        yield MsnpCassette(replay.host, replay.port, plan.mode, plan.path, False, nexus.nexus_url)
        await replay.finish(2 * timeout)
