"""How every route is served: the app factory, and the one wrapper around each view.

The wrapper answers every error as a problem document (`problems.py`), counts the request by its
route template, and logs it (hot routes only when they fail). A request's id (the client's
X-Request-ID or a new one, `correlation_id`) is on the lines it logs and the messages it sends,
and answers in X-Request-ID. A hot ("quiet") route makes one only when it needs one (it failed,
or passed the request on; lines it logged before that have none), not for each of the thousands
of pages a second that nothing names: made, set and sent back on every page, an id cost about 7%
of a kept list page's CPU. It wraps each view once, when the route is added, instead of running
as aiohttp middleware: a middleware costs two more coroutine frames on every request (aiohttp
adds its own beside it), and the room list is answered thousands of times a second. Paths no
route serves get the same treatment from a last, catch-all route (404, or 405 with `Allow`)."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from aiohttp import web

from services.gateway.http.answers import Health
from services.gateway.http.problems import Problem, problem_response
from shared.logging import REQUEST_ID
from shared.metrics import HTTP_STATS
from shared.ops import Check, failing

log = structlog.get_logger(__name__)

View = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Request ids: unique per process start plus a counter (cheaper than a uuid4 on every request).
_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # clients choose methods


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    view: View
    # A hot path (the list, likes, views): its successful requests are not logged, and it makes a
    # request id only when it needs one (`correlation_id`).
    quiet: bool = False


def correlation_id(request: web.Request) -> str:
    """The request's id, on its log lines (`shared.logging.add_request_id`) and the messages it
    sends: the client's X-Request-ID or a new one, made on first use and kept to the request's end.
    aiohttp runs each request in a task of its own, in a copy of the connection's context: what is
    set here ends with the request, with no reset."""
    request_id = REQUEST_ID.get()
    if request_id is None:
        request_id = request.headers.get("X-Request-ID", "")[:64] or f"{_ID_PREFIX}{next(_ID_COUNTER):x}"
        REQUEST_ID.set(request_id)
    return request_id


def served(route: Route, method: str | None = None) -> View:
    """`route` served by `method` (its own by default; the catch-all's varies per request)."""
    view, quiet, series = route.view, route.quiet, HTTP_STATS.route(route.path)
    method = method or route.method
    of_method = series.method(method) if method != "*" else None

    async def serve(request: web.Request) -> web.StreamResponse:
        if not quiet:  # every line it logs carries its id
            correlation_id(request)
        started = time.perf_counter()
        try:
            response = await view(request)
        except Exception as exc:
            response = problem_response(exc)
        seconds = time.perf_counter() - started
        status = response.status
        if of_method is not None:
            of_method.observe(status, seconds)
        else:
            series.observe(request.method if request.method in _METHODS else "other", status, seconds)
        if status >= 400 or not quiet:
            request_id: str | None = correlation_id(request)
            log.info("http.request", method=request.method, path=request.path, status=status,
                     ms=round(seconds * 1000, 1))
        else:  # a quiet success: the id it was sent or passed on, if any (a new one would name nothing)
            request_id = REQUEST_ID.get() or request.headers.get("X-Request-ID", "")[:64]
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response

    return serve


async def _unmatched(request: web.Request) -> web.StreamResponse:
    """No route serves this: 405 (with `Allow`) if a route serves the path with other methods."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.canonical != "/{path}":
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise Problem(405, "http-405", "Method Not Allowed", f"{request.method} is not allowed here",
                      headers={"Allow": ",".join(sorted(allowed))})
    raise Problem(404, "http-404", "Not Found", "no such route")


def build_app(routes: Sequence[Route], *, max_body_bytes: int) -> web.Application:
    """One resource per path, fixed paths before templated ones. aiohttp tries, in the order they
    were added, every resource that shares the path's fixed prefix: added route by route,
    `GET /v1/rooms` (the hottest call) came after `POST /v1/rooms` (a resource of its own) and five
    `/v1/rooms/{room_id}...` patterns, seven tries on every page instead of one."""
    app = web.Application(client_max_size=max_body_bytes)
    by_path: dict[str, list[Route]] = {}
    for route in routes:
        by_path.setdefault(route.path, []).append(route)
    for path in sorted(by_path, key=lambda path: "{" in path):  # stable: otherwise as given
        resource = app.router.add_resource(path)
        for route in by_path[path]:
            resource.add_route(route.method, served(route))
            if route.method == "GET":
                resource.add_route("HEAD", served(route, "HEAD"))
    app.router.add_route("*", "/{path:.*}", served(Route("*", "unmatched", _unmatched)))
    return app


def health_routes(checks: Mapping[str, Check]) -> list[Route]:
    """`/healthz` (the process answers) and `/readyz` (what it needs answers: `checks`)."""

    async def healthz(_: web.Request) -> web.Response:
        return Health(status="ok").response()

    async def readyz(_: web.Request) -> web.Response:
        down = await failing(checks)
        if down:
            return Health(status="not ready", failing=down).response(503)
        return Health(status="ready").response()

    return [Route("GET", "/healthz", healthz), Route("GET", "/readyz", readyz)]
