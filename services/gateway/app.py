"""The gateway's aiohttp application factory."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import structlog
from aiohttp import web

from services.gateway import admin_views, live_views, media_hooks, openapi, rooms_views, tencent_callbacks
from services.gateway.auth import TokenPolicy
from services.gateway.context import (
    BUS,
    COUNTERS,
    DIRECTORY,
    LIMITER,
    LISTENER,
    LISTER,
    LIVE,
    PRESENCE,
    QUIET_ACCESS_LOG,
    REQUEST_ID,
    ROOM_STATUS,
    ROOMS,
    SETTINGS,
    SIGNER,
    STREAM_SLOTS,
    TOKENS,
)
from services.gateway.counters import CounterBatcher
from services.gateway.directory import CursorCodec, RoomDirectory, RoomLister, keep_synced
from services.gateway.http_metrics import observe_request
from services.gateway.limits import RateLimiter, StreamSlots, limits_from, one
from services.gateway.live import LiveRooms, RoomStatusCache
from services.gateway.presence import Presence
from services.gateway.presence_sync import keep_presence, on_presence_report, show_viewers_now
from services.gateway.problems import Handler, problem_response
from shared.bus import Binding, Bus
from shared.clients import RoomsClient
from shared.contracts import (
    Contract,
    Envelope,
    PresenceReport,
    RoomActivated,
    RoomClosed,
    RoomCountersChanged,
    RoomInterrupted,
    RoomResumed,
)
from shared.metrics import DIRECTORY_EVENT_LAG, DIRECTORY_ROOMS
from shared.ops import Check, bus_check, failing
from shared.settings import GatewaySettings
from shared.signing import UrlSigner

log = structlog.get_logger(__name__)

# Request ids: unique per process start plus a counter (cheaper than a uuid4 on every request).
_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id (the client's X-Request-ID or a new one) to every log line and message,
    and answer every error as a problem document. One middleware, not two: each layer costs
    every request, the room list's thousands a second included."""
    request_id = request.headers.get("X-Request-ID", "")[:64] or f"{_ID_PREFIX}{next(_ID_COUNTER):x}"
    request[REQUEST_ID] = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    try:
        try:
            response = await handler(request)
        except Exception as exc:
            response = problem_response(exc)
        response.headers["X-Request-ID"] = request_id
        seconds = time.perf_counter() - started
        observe_request(request, response.status, seconds)
        # The hot paths (the list, likes, views: thousands per second) log only their failures.
        if response.status >= 400 or not request.get(QUIET_ACCESS_LOG, False):
            log.info("http.request", method=request.method, path=request.path, status=response.status,
                     ms=round(seconds * 1000, 1))
        return response
    finally:
        structlog.contextvars.unbind_contextvars("request_id")


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def readiness_checks(app: web.Application) -> dict[str, Check]:
    """What the gateway needs to answer: the broker, the directory loaded, its event listener
    alive (a dead listener would leave the directory silently stale)."""

    async def directory_loaded() -> bool:
        return app[DIRECTORY].loaded

    async def listening() -> bool:
        task = app.get(LISTENER)
        return task is not None and not task.done()

    return {"bus": bus_check(app[BUS]), "directory": directory_loaded, "events": listening}


async def readyz(request: web.Request) -> web.Response:
    down = await failing(readiness_checks(request.app))
    if down:
        return web.json_response({"status": "not ready", "failing": down}, status=503)
    return web.json_response({"status": "ready"})


def _on_room_event(app: web.Application, event: Contract) -> None:
    directory = app[DIRECTORY]
    if isinstance(event, RoomCountersChanged):
        # Viewers see only counts newer than what they were shown (versions), never older.
        app[LIVE].counts_changed([counts for counts in event.rooms if directory.apply_counts(counts)],
                                 app[PRESENCE].now)
    elif isinstance(event, PresenceReport):
        on_presence_report(app, event)
    elif isinstance(event, RoomActivated):
        directory.apply(event.room)
        show_viewers_now(app, [event.room.id])  # streams may have opened before it went live here
    elif isinstance(event, RoomClosed):
        directory.apply(event.room)
        app[LIVE].room_closed(event.room)
    elif isinstance(event, RoomInterrupted | RoomResumed) and directory.apply(event.room):
        app[LIVE].stream_changed(event.room)


async def _connect_and_listen(app: web.Application) -> None:
    bus, settings = app[BUS], app[SETTINGS]
    await bus.connect()

    async def handle(env: Envelope, event: Contract) -> None:
        _on_room_event(app, event)
        DIRECTORY_EVENT_LAG.observe(max(0.0, (datetime.now(UTC) - env.time).total_seconds()))

    # Listen first, then load: an event that lands during the snapshot is not lost.
    await bus.subscribe([Binding("events", t) for t in (RoomActivated.TYPE, RoomClosed.TYPE, RoomInterrupted.TYPE,
                                                        RoomResumed.TYPE, RoomCountersChanged.TYPE,
                                                        PresenceReport.TYPE)], handle)
    await keep_synced(bus, app[DIRECTORY], resync_every=settings.directory_resync_seconds,
                      page_size=settings.directory_page_size, timeout=settings.request_timeout_seconds)


async def _bus_ctx(app: web.Application) -> AsyncIterator[None]:
    # Connect in the background: the gateway serves 503s (not connection errors) while the
    # broker is down, and becomes ready as soon as it answers and the directory is loaded.
    connecting = app[LISTENER] = asyncio.create_task(_connect_and_listen(app))
    presence = asyncio.create_task(keep_presence(app))
    yield
    for task in (connecting, presence):
        task.cancel()
    await asyncio.gather(connecting, presence, return_exceptions=True)
    await app[BUS].close()


def create_app(settings: GatewaySettings, bus: Bus | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[request_context])
    app[SETTINGS] = settings
    app[TOKENS] = TokenPolicy(settings.jwt_secret.get_secret_value(), settings.jwt_issuer, settings.jwt_audience,
                              settings.jwt_leeway_seconds, settings.jwt_max_lifetime_seconds)
    app[SIGNER] = UrlSigner(settings)
    app[BUS] = bus or Bus(settings.amqp_url, namespace=settings.bus_namespace,
                          delivery_limit=settings.delivery_limit, prefetch=settings.prefetch)
    app[ROOMS] = RoomsClient(app[BUS], timeout=settings.request_timeout_seconds)
    app[COUNTERS] = CounterBatcher(app[BUS], window=settings.counter_window_ms / 1000)
    app[ROOM_STATUS] = RoomStatusCache()
    app[LIVE] = LiveRooms(heartbeat=settings.sse_heartbeat_seconds)
    app[PRESENCE] = Presence(period=settings.presence_period_seconds)
    app[DIRECTORY] = RoomDirectory()
    DIRECTORY_ROOMS.set_function(app[DIRECTORY].__len__)
    cursors = CursorCodec.from_secret(settings.jwt_secret.get_secret_value())  # the same on every replica
    app[LISTER] = RoomLister(app[DIRECTORY], app[SIGNER], cursors)
    # Each replica takes its share of a user's budget (the gateways alive, from presence).
    presence = app[PRESENCE]
    share: Callable[[], int] = (lambda: presence.instances) if settings.limit_split == "replicas" else one
    app[LIMITER] = RateLimiter(limits_from(settings), share=share)
    app[STREAM_SLOTS] = StreamSlots(per_user=settings.live_streams_per_user, total=settings.live_streams_max,
                                    share=share)
    app.cleanup_ctx.append(_bus_ctx)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_routes(rooms_views.routes)
    app.router.add_routes(live_views.routes)
    app.router.add_routes(admin_views.routes)
    if settings.hooks_port == 0:
        app.router.add_routes(media_hooks.routes)
    app.router.add_routes(tencent_callbacks.routes)
    app.router.add_routes(openapi.routes)
    return app


def create_hooks_app(app: web.Application) -> web.Application:
    """The media server's hooks, on a port of their own (`ONAIR_HOOKS_PORT`) that only the media
    server reaches: on the public port, behind the Ingress, they do not exist. They share the
    gateway's parts (the directory, the rooms client, the bus)."""
    hooks = web.Application(client_max_size=app[SETTINGS].max_body_bytes, middlewares=[request_context])
    for key in (SETTINGS, BUS, ROOMS, DIRECTORY, ROOM_STATUS):
        hooks[key] = app[key]  # type: ignore[misc]
    hooks.router.add_routes(media_hooks.routes)
    return hooks
