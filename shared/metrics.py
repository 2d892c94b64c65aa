"""Prometheus metrics: every metric Onair exports, in one place (names after Prometheus's
conventions: base units in the name, `_total` on counters). Each process serves its own at
`/metrics` on its ops port (`shared/ops.py`); Prometheus adds `job` / `pod` when it scrapes.

Label values come from closed sets (routes, message types, outcomes, cloud actions), never from
ids, so the number of series stays bounded however many rooms there are.

Metrics are made unregistered and each process exports only its own groups (`export`): a rooms
pod showing `onair_watcher_cycles_total 0` would mislead a dashboard and hide an absent watcher.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series beside each counter

# Seconds: from a cached list page (~0.1 ms) to a request that waits on the rooms service.
_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- HTTP (gateway) -------------------------------------------------------------------------

class RouteSeries:
    """One route's requests by method: for each, counts by status and durations, as plain numbers.
    `method()` hands a method's own series to the code that serves it, so a request adds to two
    plain containers (no key tuple, no lookup by method)."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._bounds = buckets
        self.methods: dict[str, MethodSeries] = {}

    def method(self, method: str) -> MethodSeries:
        series = self.methods.get(method)
        if series is None:  # not `setdefault`: it would make a series on every call
            series = self.methods[method] = MethodSeries(self._bounds)
        return series

    def observe(self, method: str, status: int, seconds: float) -> None:
        self.method(method).observe(status, seconds)


class MethodSeries:
    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self.requests: dict[int, int] = {}  # status -> count
        self.durations = [0.0] * (len(bounds) + 2)  # per-bucket counts (+Inf last), then the sum

    def observe(self, status: int, seconds: float) -> None:
        requests, durations = self.requests, self.durations
        requests[status] = requests.get(status, 0) + 1
        durations[bisect.bisect_left(self._bounds, seconds)] += 1
        durations[-1] += seconds


class HttpStats(Collector):
    """`onair_http_requests_total` and `onair_http_request_duration_seconds`, by route template
    (`/v1/rooms/{room_id}`, never an id). Kept as plain numbers and turned into metric families
    only when scraped: the client library's metrics take a lock on every increment, two per
    request, and the list is answered thousands of times a second. The gateway is one event
    loop and its ops port runs in it, so a scrape never sees a half-made change."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._buckets = buckets
        self._routes: dict[str, RouteSeries] = {}

    def route(self, template: str) -> RouteSeries:
        return self._routes.setdefault(template, RouteSeries(self._buckets))

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("onair_http_requests", "HTTP requests answered, by route and status",
                                       labels=["route", "method", "status"])
        durations = HistogramMetricFamily("onair_http_request_duration_seconds",
                                          "Time to answer an HTTP request, by route", labels=["route", "method"])
        for route, series in sorted(self._routes.items()):
            for method, of_method in sorted(series.methods.items()):
                for status, count in sorted(of_method.requests.items()):
                    requests.add_metric([route, method, str(status)], count)
            for method, counts in sorted((method, of_method.durations) for method, of_method in series.methods.items()
                                         if of_method.requests):
                cumulative: list[tuple[str, float]] = []
                total = 0.0
                for bound, in_bucket in zip([*map(floatToGoString, self._buckets), "+Inf"], counts[:-1], strict=True):
                    total += in_bucket
                    cumulative.append((bound, total))
                durations.add_metric([route, method], cumulative, sum_value=counts[-1])
        yield requests
        yield durations


HTTP_STATS = HttpStats(_FAST)

# --- the message bus (every service) -----------------------------------------------------
PUBLISHED = Counter(
    "onair_messages_published_total", "Messages published, by exchange and type", ["exchange", "type"], registry=None
)
PUBLISH_FAILURES = Counter(
    "onair_publish_failures_total",
    "Publishes the broker did not accept (the gateway answers 503)",
    ["type"],
    registry=None,
)
CONSUMED = Counter(
    "onair_messages_consumed_total",
    "Messages settled by a consumer: acked, requeued (to retry), rejected (dead-lettered: "
    "invalid or refused), dead_lettered (past the delivery limit), answered_unavailable (a query)",
    ["type", "outcome"],
    registry=None,
)
HANDLER_SECONDS = Histogram(
    "onair_message_handler_seconds",
    "Time in a message handler, by message type",
    ["type"],
    buckets=_FAST,
    registry=None,
)
COUNTER_BATCH_SIZE = Histogram(
    "onair_counter_batch_size",
    "Room counts per counter batch (gateway: per publish; rooms: per store write)",
    ["side"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
    registry=None,
)

# --- the room directory (gateway) --------------------------------------------------------
DIRECTORY_ROOMS = Gauge("onair_directory_rooms", "Live rooms in this gateway's directory", registry=None)
DIRECTORY_EVENT_LAG = Histogram(
    "onair_directory_event_lag_seconds",
    "From a room event's publication to its application in this gateway's directory",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0),
    registry=None,
)
DIRECTORY_SYNCED = Gauge(
    "onair_directory_last_sync_timestamp_seconds",
    "When the directory last finished a snapshot from the rooms service",
    registry=None,
)
LIVE_STREAMS = Gauge("onair_live_streams", "Live-update streams open on this gateway", registry=None)
PRESENCE_INSTANCES = Gauge("onair_presence_gateways", "Gateways whose streams this gateway counts in viewers_now",
                           registry=None)

# --- rooms -------------------------------------------------------------------------------
ROOMS = Gauge("onair_rooms", "Rooms in the store by status (live ones: unactive, active)", ["status"], registry=None)
ROOMS_CLOSED = Counter("onair_rooms_closed_total", "Rooms closed, by reason", ["reason"], registry=None)
ROOMS_STREAM_CHANGES = Counter(
    "onair_rooms_stream_changes_total",
    "Active rooms whose push stopped (interrupted: off the list) or came back (live)",
    ["to"],
    registry=None,
)

# --- the status watcher ------------------------------------------------------------------
WATCHER_CYCLES = Counter("onair_watcher_cycles_total", "Stream-status polling cycles run", registry=None)
WATCHER_CYCLE_SECONDS = Histogram(
    "onair_watcher_cycle_seconds",
    "Time a polling cycle took",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)
WATCHER_LAST_CYCLE = Gauge(
    "onair_watcher_last_cycle_timestamp_seconds", "When the last polling cycle ended", registry=None
)
WATCHER_WATCHED = Gauge("onair_watcher_rooms_watched", "Live rooms the watcher polls", registry=None)
WATCHER_POLLED = Counter(
    "onair_watcher_streams_polled_total",
    "Stream statuses read, by result (unknown: the cloud did not answer)",
    ["result"],
    registry=None,
)
WATCHER_STRUCK = Counter(
    "onair_watcher_strikes_total", "Offline strikes given (a room is closed at 3 in a row)", registry=None
)
WATCHER_CLOSED = Counter("onair_watcher_black_screen_closes_total", "Rooms the watcher asked to close", registry=None)

# --- the cloud (moderation, watcher) ------------------------------------------------------
DETECTION_BANS_DEFERRED = Counter(
    "onair_detection_bans_deferred_total",
    "Detection ban verdicts over the automatic-ban budget, opened as cases instead (a leaked callback key?)",
    registry=None,
)
STREAM_CUTS = Counter(
    "onair_stream_cuts_total",
    "Pushes of closed rooms cut at the cloud or media servers, by result (failed: retried later)",
    ["result"],
    registry=None,
)
CLOUD_CALLS = Counter(
    "onair_cloud_calls_total", "Calls to the cloud's API, by action and result", ["action", "result"], registry=None
)
CLOUD_SECONDS = Histogram(
    "onair_cloud_call_duration_seconds",
    "Time a cloud API call took, by action",
    ["action"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)


HTTP: tuple[Collector, ...] = (HTTP_STATS,)
BUS = (PUBLISHED, PUBLISH_FAILURES, CONSUMED, HANDLER_SECONDS, COUNTER_BATCH_SIZE)
FOLLOWS = Counter("onair_follows_total", "Follows and unfollows that changed something", ["change"], registry=None)
FOLLOW_ALERTS = Counter("onair_follow_alerts_total",
                        "Followers put on the bus to be alerted that an anchor went live", registry=None)
FOLLOWED_LIVE_SENT = Counter("onair_followed_live_sent_total",
                             "followed_live events sent to connected followers (gateway)", registry=None)
ROOMS_GROUP = (ROOMS, ROOMS_CLOSED, ROOMS_STREAM_CHANGES, FOLLOWS, FOLLOW_ALERTS)
DIRECTORY = (DIRECTORY_ROOMS, DIRECTORY_EVENT_LAG, DIRECTORY_SYNCED, LIVE_STREAMS, PRESENCE_INSTANCES,
             FOLLOWED_LIVE_SENT)
WATCHER = (
    WATCHER_CYCLES,
    WATCHER_CYCLE_SECONDS,
    WATCHER_LAST_CYCLE,
    WATCHER_WATCHED,
    WATCHER_POLLED,
    WATCHER_STRUCK,
    WATCHER_CLOSED,
)
CLOUD = (CLOUD_CALLS, CLOUD_SECONDS, STREAM_CUTS, DETECTION_BANS_DEFERRED)
_exported: set[int] = set()


def export(*groups: tuple[Collector, ...]) -> None:
    """Expose these groups at this process's /metrics (once each)."""
    for group in groups:
        for metric in group:
            if id(metric) not in _exported:
                REGISTRY.register(metric)
                _exported.add(id(metric))


def record_cloud_call(action: str, seconds: float, *, ok: bool) -> None:
    CLOUD_CALLS.labels(action, "ok" if ok else "error").inc()
    CLOUD_SECONDS.labels(action).observe(seconds)
