"""The routing and redirect policy, without sockets: where each new connection goes,
which redirects are proxied, when an NS listener is needed, what the client is told."""

from __future__ import annotations

import pytest

from msmgr.codec import Command
from msproxy.proxy.commands import RequestRedirect
from msproxy.proxy.routing import RedirectPlan, Route, Router

UPSTREAM = ("10.0.0.1", 1863)
NS = ("10.0.0.5", 1863)
VER = Command("VER", 1, ("MSNP8", "CVR0"))


def router(**kwargs: object) -> Router:
    return Router(upstream=UPSTREAM, port=1863, ttl=300.0, **kwargs)  # type: ignore[arg-type]


def sb(
    cookie: str | None = "c1", target: str = "10.0.0.9:1864", via: str = "XFR"
) -> RequestRedirect:
    sessid = "77" if via == "RNG" else None
    return RequestRedirect(target=target, kind="SB", via=via, cookie=cookie, sessid=sessid)


def ns(target: str = "10.0.0.5:1863") -> RequestRedirect:
    return RequestRedirect(target=target, kind="NS", via="XFR")


def take(
    r: Router,
    request: RequestRedirect,
    *,
    parent: int = 1,
    host: str = "1.2.3.4",
    now: float = 0.0,
    port: int = 40000,
) -> str:
    """Plan, open a listener when asked, accept: the address the client is told."""
    plan = r.plan(request)
    if plan.listen:
        assert plan.target is not None
        plan = r.listening(plan.target, port)
    assert plan.refused is None, plan.refused
    return r.accept(
        request, plan, parent=parent, client_host=host, local=("127.0.0.1", 1863), now=now
    )


def test_a_connection_no_redirect_claims_goes_to_the_upstream_as_ds() -> None:
    r = router()
    assert r.route(VER, client_host="1.2.3.4", ns_target=None, now=0.0) == Route(
        target=UPSTREAM, role="DS"
    )


@pytest.mark.parametrize("via", ["XFR", "RNG"])
def test_an_sb_connection_is_routed_by_its_cookie_once(via: str) -> None:
    r = router()
    assert take(r, sb("abc", via=via), parent=3) == "127.0.0.1:1863"  # the main listener
    first = (
        Command("USR", 1, ("bob@x.com", "abc"))
        if via == "XFR"
        else Command("ANS", 1, ("bob@x.com", "abc", "77"))
    )
    route = r.route(first, client_host="1.2.3.4", ns_target=None, now=1.0)
    assert route == Route(target=("10.0.0.9", 1864), role="SB", parent=3, via=via)
    # used once: the same cookie again goes to the DS
    assert r.route(first, client_host="1.2.3.4", ns_target=None, now=1.0) == Route(
        target=UPSTREAM, role="DS"
    )


def test_an_unknown_cookie_goes_to_the_upstream() -> None:
    r = router()
    take(r, sb("abc"))
    route = r.route(
        Command("USR", 1, ("bob@x.com", "zzz")), client_host="", ns_target=None, now=0.0
    )
    assert route == Route(target=UPSTREAM, role="DS")


@pytest.mark.parametrize("via", ["XFR", "RNG"])
@pytest.mark.parametrize("public_host", [None, "proxy.example.com:1863"])
def test_an_sb_cookie_is_claimed_only_from_the_client_it_was_relayed_to(
    via: str, public_host: str | None
) -> None:
    """Presented from another address, the cookie is refused: that connection goes to the
    upstream as an unknown cookie's would, with the reason, and the redirect stays
    pending for its client, who still claims it (``--public-host`` changes only what the
    client is told, not whose redirect it is)."""
    r = router(public_host=public_host)
    told = take(r, sb("abc", via=via), parent=3, host="1.2.3.4")
    assert told == (public_host or "127.0.0.1:1863")
    first = (
        Command("USR", 1, ("bob@x.com", "abc"))
        if via == "XFR"
        else Command("ANS", 1, ("bob@x.com", "abc", "77"))
    )
    for other in ("5.6.7.8", "", "::1", "1.2.3.40"):
        route = r.route(first, client_host=other, ns_target=None, now=1.0)
        assert (route.target, route.role, route.parent, route.via) == (UPSTREAM, "DS", None, None)
        assert route.refused is not None
        assert "1.2.3.4 " in route.refused
        assert "#3" in route.refused
    assert len(r.table) == 1
    route = r.route(first, client_host="1.2.3.4", ns_target=None, now=2.0)
    assert route == Route(target=("10.0.0.9", 1864), role="SB", parent=3, via=via)
    assert len(r.table) == 0


def test_an_ipv4_client_seen_through_a_dual_stack_socket_is_the_same_client() -> None:
    r = router()
    take(r, sb("abc"), host="::ffff:1.2.3.4")
    take(r, sb("def"), host="1.2.3.4")
    usr = Command("USR", 1, ("bob@x.com", "abc"))
    assert r.route(usr, client_host="1.2.3.4", ns_target=None, now=0.0).role == "SB"
    usr = Command("USR", 1, ("bob@x.com", "def"))
    assert r.route(usr, client_host="::FFFF:1.2.3.4", ns_target=None, now=0.0).role == "SB"


def test_a_cookieless_sb_redirect_is_refused() -> None:
    plan = router().plan(sb(cookie=None))
    assert plan.refused is not None
    assert "cookie" in plan.refused
    assert not plan.listen


@pytest.mark.parametrize("target", ["", "host:notaport", "10.0.0.1:70000", ":1863"])
def test_an_unusable_address_is_refused(target: str) -> None:
    plan = router().plan(sb(target=target))
    assert plan.target is None
    assert plan.refused is not None
    assert "unusable" in plan.refused


def test_an_ns_target_needs_a_listener_once() -> None:
    r = router()
    first = r.plan(ns())
    assert first == RedirectPlan(target=NS, listen=True)
    assert r.listening(NS, 40001) == RedirectPlan(target=NS, port=40001)
    again = r.plan(ns())
    assert again == RedirectPlan(target=NS, port=40001)  # no second listener
    other = r.plan(ns("10.0.0.6:1863"))
    assert other.listen


def test_ns_listeners_are_bounded() -> None:
    r = router(max_ns_listeners=1)
    take(r, ns(), port=40001)
    plan = r.plan(ns("10.0.0.6:1863"))
    assert plan.refused is not None
    assert "no NS listener" in plan.refused
    assert r.plan(ns()).port == 40001  # the one open still serves


def test_a_listener_that_cannot_be_opened_refuses_the_redirect() -> None:
    r = router()
    plan = r.listening(NS, None)
    assert plan.refused is not None
    assert r.plan(ns()).listen  # tried again next time


def test_an_ns_connection_is_claimed_by_its_client_address_oldest_first() -> None:
    r = router()
    assert take(r, ns(), parent=2, host="1.2.3.4", port=40001) == "127.0.0.1:40001"
    take(r, ns(), parent=5, host="1.2.3.4", port=40001)
    take(r, ns(), parent=9, host="9.9.9.9", port=40001)

    def claim(host: str) -> Route:
        return r.route(VER, client_host=host, ns_target=NS, now=1.0)

    assert claim("1.2.3.4") == Route(target=NS, role="NS", parent=2, via="XFR")
    assert claim("1.2.3.4").parent == 5
    # Nothing left for this address: still that NS (the listener names it), no parent.
    assert claim("1.2.3.4") == Route(target=NS, role="NS")
    assert claim("9.9.9.9").parent == 9


def test_an_ns_redirect_is_not_claimed_on_another_targets_listener() -> None:
    r = router()
    take(r, ns(), parent=2)
    other = ("10.0.0.6", 1863)
    assert r.route(VER, client_host="1.2.3.4", ns_target=other, now=0.0) == Route(
        target=other, role="NS"
    )
    assert r.route(VER, client_host="1.2.3.4", ns_target=NS, now=0.0).parent == 2


def test_redirects_expire_after_their_ttl() -> None:
    r = router()
    take(r, sb("abc"), now=100.0)
    take(r, ns(), parent=4, now=100.0)
    usr = Command("USR", 1, ("bob@x.com", "abc"))
    assert r.route(usr, client_host="1.2.3.4", ns_target=None, now=400.0).role == "DS"
    assert r.route(VER, client_host="1.2.3.4", ns_target=NS, now=400.0).parent is None
    r2 = router()
    take(r2, sb("abc"), now=100.0)
    assert r2.route(usr, client_host="1.2.3.4", ns_target=None, now=399.9).role == "SB"


def test_pending_redirects_are_bounded_oldest_dropped() -> None:
    r = router(max_pending=2)
    for cookie in ("a", "b", "c"):
        take(r, sb(cookie))
    assert len(r.table) == 2
    routes = [
        r.route(
            Command("USR", 1, ("x", cookie)), client_host="1.2.3.4", ns_target=None, now=0.0
        ).role
        for cookie in ("a", "b", "c")
    ]
    assert routes == ["DS", "SB", "SB"]


def test_accepting_a_refused_plan_is_an_error() -> None:
    r = router()
    request = sb(cookie=None)
    with pytest.raises(ValueError, match="refused"):
        r.accept(request, r.plan(request), parent=1, client_host="", local=None, now=0.0)


@pytest.mark.parametrize(
    ("public", "local", "port", "told"),
    [
        (None, ("127.0.0.1", 1863), 1863, "127.0.0.1:1863"),
        (None, ("10.1.1.1", 1863), 40001, "10.1.1.1:40001"),
        (None, ("0.0.0.0", 1863), 1863, "127.0.0.1:1863"),
        (None, None, 1863, "192.168.0.2:1863"),  # the listening host
        ("proxy.example.net", ("127.0.0.1", 1863), 1863, "proxy.example.net:1863"),
        ("203.0.113.7:2000", ("127.0.0.1", 1863), 1863, "203.0.113.7:2000"),
        ("203.0.113.7:2000", ("127.0.0.1", 1863), 40001, "203.0.113.7:40001"),
        (None, ("::1", 1863), 1863, "[::1]:1863"),
    ],
)
def test_the_address_told_to_the_client(
    public: str | None, local: tuple[str, int] | None, port: int, told: str
) -> None:
    r = Router(upstream=UPSTREAM, port=1863, public_host=public, listen_host="192.168.0.2")
    assert r.advertised(local, port) == told
