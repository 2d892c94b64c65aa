"""How every route is served (`serving.py`), through aiohttp: each request is counted by route
template, method and status and timed by route and method (`shared/metrics.py`), and its request
id ends with it."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.http.problems import Problem
from services.gateway.http.serving import Route, build_app, correlation_id
from shared.logging import REQUEST_ID
from shared.metrics import HTTP_STATS, HttpStats

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(stats: HttpStats) -> Samples:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in stats.collect() for sample in family.samples}


async def _items(request: web.Request) -> web.Response:
    if request.query:
        raise Problem(422, "validation", "Invalid", "no parameters here")
    return web.Response(text="[]")


async def test_requests_are_counted_by_route_method_and_status_and_timed() -> None:
    app = build_app([Route("GET", "/metered/items", _items, quiet=True), Route("POST", "/metered/items", _items)],
                    max_body_bytes=1024)
    before = _samples(HTTP_STATS)
    async with TestClient(TestServer(app)) as client:
        for method, path in (("GET", "/metered/items"), ("GET", "/metered/items"), ("HEAD", "/metered/items"),
                             ("GET", "/metered/items?x=1"), ("PATCH", "/metered/nowhere")):
            await client.request(method, path)
    after = _samples(HTTP_STATS)

    def added(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    counted, timed = "onair_http_requests_total", "onair_http_request_duration_seconds"
    assert added(counted, route="/metered/items", method="GET", status="200") == 2
    assert added(counted, route="/metered/items", method="GET", status="422") == 1
    assert added(counted, route="/metered/items", method="HEAD", status="200") == 1
    assert added(counted, route="unmatched", method="PATCH", status="404") == 1
    assert added(f"{timed}_count", route="/metered/items", method="GET") == 3
    assert added(f"{timed}_bucket", route="/metered/items", method="GET", le="+Inf") == 3
    assert added(f"{timed}_count", route="unmatched", method="PATCH") == 1
    assert not any(("route", "/metered/items") in labels and ("method", "POST") in labels for _, labels in after)


def test_a_method_served_but_never_asked_has_no_series() -> None:
    stats = HttpStats((0.1,))
    stats.route("/r").method("POST")  # as `served` makes it, before any request
    stats.route("/r").method("GET").observe(200, 0.05)
    assert {sample.labels["method"] for family in stats.collect() for sample in family.samples} == {"GET"}


async def test_a_request_id_ends_with_its_request_on_a_kept_alive_connection() -> None:
    """The wrapper sets the id and never resets it: aiohttp runs each request in a task of its own,
    in a copy of the connection's context. A handler outside the wrapper, next on the same
    connection, sees no id."""
    seen: list[str | None] = []
    connections: list[object] = []

    async def wrapped(request: web.Request) -> web.Response:
        connections.append(request.transport)
        return web.Response(text="ok")

    async def unwrapped(request: web.Request) -> web.Response:
        connections.append(request.transport)
        seen.append(REQUEST_ID.get())
        return web.Response(text="ok")

    app = build_app([Route("GET", "/wrapped", wrapped)], max_body_bytes=1024)
    app.router.add_get("/unwrapped", unwrapped)
    async with TestClient(TestServer(app)) as client:
        first = await client.get("/wrapped", headers={"X-Request-ID": "first-request"})
        assert first.headers["X-Request-ID"] == "first-request"
        await client.get("/unwrapped")
    assert connections[0] is connections[1] and seen == [None]


async def test_a_quiet_route_makes_a_request_id_only_when_it_needs_one() -> None:
    """A hot route's page names nothing: no id is made for it. One is when the request fails, or
    when the view passes it on (`correlation_id`), and the client's own is always answered."""
    seen: list[str | None] = []

    async def page(request: web.Request) -> web.Response:
        seen.append(REQUEST_ID.get())
        if "ask" in request.query:
            seen.append(correlation_id(request))
        if "fail" in request.query:
            raise Problem(422, "validation", "Invalid", "no")
        return web.Response(text="[]")

    app = build_app([Route("GET", "/page", page, quiet=True), Route("POST", "/page", page)], max_body_bytes=1024)
    async with TestClient(TestServer(app)) as client:
        plain = await client.get("/page")
        assert plain.status == 200 and "X-Request-ID" not in plain.headers and seen == [None]
        echoed = await client.get("/page", headers={"X-Request-ID": "from-the-app"})
        assert echoed.headers["X-Request-ID"] == "from-the-app"
        seen.clear()
        asked = await client.get("/page?ask=1")
        assert seen[0] is None and asked.headers["X-Request-ID"] == seen[1]
        failed = await client.get("/page?fail=1")
        assert failed.status == 422 and failed.headers["X-Request-ID"] not in (None, seen[1])
        seen.clear()
        written = await client.post("/page", headers={"X-Request-ID": "a-write"})  # not quiet: made first
        assert seen == ["a-write"] and written.headers["X-Request-ID"] == "a-write"
