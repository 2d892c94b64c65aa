"""HTTP request metrics by route template (`/v1/rooms/{room_id}`, never the id itself)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client.metrics import Counter, Histogram

from shared.metrics import HTTP_DURATION, HTTP_REQUESTS

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Label children by (route, method, status): `labels()` takes a lock and builds a key on every
# call, and the list is answered thousands of times a second. Bounded: routes x methods x statuses.
_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(request: web.Request, status: int, seconds: float) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    method = request.method if request.method in _METHODS else "other"  # clients choose methods
    key = (route, method, status)
    series = _series.get(key)
    if series is None:
        series = _series[key] = (HTTP_REQUESTS.labels(route, method, str(status)), HTTP_DURATION.labels(route, method))
    series[0].inc()
    series[1].observe(seconds)
