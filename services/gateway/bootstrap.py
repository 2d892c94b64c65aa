"""Composition root of the gateway: the only module that builds its parts and wires them.

Parts (`Gateway`): the bus and the clients of rooms and moderation on it; the directory (the
list) with its lister; what is on air (likes gate, hooks' play checks); live updates and
presence; counters; auth and limits. Routes: `views/` (the public API), `hooks/` (the media
server's hooks on their own port, the cloud's callbacks), the OpenAPI document and health.
Lifecycle: connect to the bus in the background, follow room events (`handlers.py`), keep the
directory synced, run presence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from aiohttp import web

from services.gateway.console.serving import PLAYER, ConsoleFiles
from services.gateway.counters import CounterBatcher
from services.gateway.directory import CursorCodec, RoomDirectory, RoomLister, keep_synced
from services.gateway.directory.filtered import FilteredPages
from services.gateway.follows.alerts import FollowerStreams
from services.gateway.follows.on_air import OnAirFollows
from services.gateway.follows.sets import FollowSets, all_followed
from services.gateway.handlers import FOLLOWED, RoomEvents
from services.gateway.hooks.media import HookKeys, MediaHooks
from services.gateway.hooks.tencent import TencentCallbacks
from services.gateway.http.auth import TokenPolicy
from services.gateway.http.limits import RateLimiter, StreamSlots, limits_from, one
from services.gateway.http.openapi import document_routes
from services.gateway.http.serving import Route, build_app, health_routes
from services.gateway.live.fanout import LiveRooms
from services.gateway.live.on_air import OnAir
from services.gateway.live.presence import Presence
from services.gateway.live.presence_loop import PresenceLoop
from services.gateway.ports import Counters, EventPublisher, Follows, LivePages, Moderation, Replays, Rooms
from services.gateway.views.admin import AdminViews
from services.gateway.views.admin_anchors import AdminAnchorViews
from services.gateway.views.common import Caller
from services.gateway.views.follows import FollowViews
from services.gateway.views.lists import ListViews
from services.gateway.views.live import LiveUpdateViews, StreamPolicy
from services.gateway.views.replays import ReplayViews
from services.gateway.views.rooms import RoomViews
from services.gateway.views.viewers import ViewerViews
from shared.bus import Bus
from shared.clients import ModerationClient, RoomsClient
from shared.metrics import DIRECTORY_ROOMS
from shared.ops import Check, bus_check
from shared.settings import GatewaySettings
from shared.signing import UrlSigner


@dataclass(frozen=True)
class Ports:
    """What the gateway's parts use of the world: the bus and the clients on it in production,
    fakes in the unit tests."""

    rooms: Rooms
    replays: Replays
    follows: Follows
    live_pages: LivePages
    moderation: Moderation
    counters: Counters
    events: EventPublisher
    connected: Callable[[], bool]


@dataclass(frozen=True)
class Gateway:
    """A gateway's parts and routes (tests and benchmarks reach into them)."""

    settings: GatewaySettings
    ports: Ports
    directory: RoomDirectory
    lister: RoomLister
    live: LiveRooms
    presence: PresenceLoop
    follow_sets: FollowSets
    alerts: FollowerStreams
    on_air: OnAir
    routes: list[Route]  # the public API
    hook_routes: list[Route]  # the media server's


def assemble(settings: GatewaySettings, ports: Ports) -> Gateway:
    secret = settings.jwt_secret.get_secret_value()
    signer = UrlSigner(settings)
    directory = RoomDirectory()
    lister = RoomLister(directory, signer, CursorCodec.from_secret(secret))  # the same cursors on every replica
    live = LiveRooms(heartbeat=settings.sse_heartbeat_seconds)
    presence = Presence(period=settings.presence_period_seconds)
    follow_sets = FollowSets(partial(all_followed, ports.follows),
                             on_air=OnAirFollows(directory.listed_anchors.entry_of), max_users=settings.follow_sets_max)
    directory.listed_anchors.watchers.append(follow_sets.on_air.room_listed)
    alerts = FollowerStreams(follow_sets, LiveRooms(heartbeat=settings.sse_heartbeat_seconds))
    presence_loop = PresenceLoop(presence, live, directory, ports.events, ports.connected,
                                 also_ticked=alerts.streams)
    on_air = OnAir(directory, ports.rooms)
    # Each replica takes its share of a user's budget (the gateways alive, from presence).
    share: Callable[[], int] = (lambda: presence.instances) if settings.limit_split == "replicas" else one
    caller = Caller(TokenPolicy(secret, settings.jwt_issuer, settings.jwt_audience, settings.jwt_leeway_seconds,
                                settings.jwt_max_lifetime_seconds),
                    RateLimiter(limits_from(settings), share=share))
    slots = StreamSlots(per_user=settings.live_streams_per_user, total=settings.live_streams_max, share=share)
    keys = HookKeys(settings.media_hook_token.get_secret_value(), settings.push_key.get_secret_value(),
                    settings.play_key.get_secret_value())
    stream_policy = StreamPolicy(settings.sse_heartbeat_seconds, settings.live_updates_per_second)
    replays = ReplayViews(caller, ports.replays, signer, lister.cursors)
    lists = ListViews(caller, directory, lister, FilteredPages(lister), follow_sets, settings.category_names)
    routes = [*RoomViews(caller, ports.rooms, directory, lister, signer, replays, settings.category_names).routes(),
              *lists.routes(),
              *replays.routes(),
              *FollowViews(caller, ports.follows, follow_sets, alerts, directory, lister, slots,
                           stream_policy).routes(),
              *ViewerViews(caller, on_air, ports.counters).routes(),
              *LiveUpdateViews(caller, on_air, live, presence, slots, stream_policy).routes(),
              *AdminViews(caller, ports.moderation).routes(),
              *AdminAnchorViews(caller, ports.follows, ports.moderation, lister).routes(),
              *TencentCallbacks(settings.callback_key.get_secret_value(), ports.events).routes(),
              *document_routes(),
              *ConsoleFiles(player=Path(settings.console_player) if settings.console_player else PLAYER).routes()]
    return Gateway(settings, ports, directory, lister, live, presence_loop, follow_sets, alerts, on_air, routes,
                   MediaHooks(keys, ports.rooms, on_air, ports.events).routes())


async def _connect_and_listen(gateway: Gateway, bus: Bus) -> None:
    settings = gateway.settings
    await bus.connect()
    # Follow first, then load: an event that lands during the snapshot is not lost.
    await bus.subscribe(FOLLOWED, RoomEvents(gateway.directory, gateway.live, gateway.presence,
                                             gateway.follow_sets, gateway.alerts))
    await keep_synced(gateway.ports.live_pages, gateway.directory, bus.reconnected,
                      resync_every=settings.directory_resync_seconds, page_size=settings.directory_page_size,
                      timeout=settings.request_timeout_seconds)


GATEWAY = web.AppKey("gateway", Gateway)
BUS = web.AppKey("bus", Bus)


@dataclass(frozen=True)
class Readiness:
    """What the gateway needs to answer (its `/readyz`, and the ops port's)."""

    checks: dict[str, Check]


READINESS = web.AppKey("readiness", Readiness)


def create_app(settings: GatewaySettings) -> web.Application:
    """The public API (and, with `ONAIR_HOOKS_PORT=0`, the media server's hooks beside it), on
    the bus: it connects in the background, so the gateway serves 503s (not connection errors)
    while the broker is down, and is ready once it answers and the directory is loaded."""
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace, delivery_limit=settings.delivery_limit,
              prefetch=settings.prefetch)
    rooms = RoomsClient(bus, timeout=settings.request_timeout_seconds)
    gateway = assemble(settings, Ports(rooms=rooms, replays=rooms, follows=rooms, live_pages=rooms,
                                       moderation=ModerationClient(bus, timeout=settings.request_timeout_seconds),
                                       counters=CounterBatcher(bus, window=settings.counter_window_ms / 1000),
                                       events=bus, connected=lambda: bus.connected))
    DIRECTORY_ROOMS.set_function(gateway.directory.__len__)
    listener: list[asyncio.Task[None]] = []

    async def directory_loaded() -> bool:
        return gateway.directory.loaded

    async def listening() -> bool:  # a dead listener would leave the directory silently stale
        return bool(listener) and not listener[0].done()

    checks: dict[str, Check] = {"bus": bus_check(bus), "directory": directory_loaded, "events": listening}
    routes = [*gateway.routes, *(gateway.hook_routes if settings.hooks_port == 0 else ())]
    app = build_app([*health_routes(checks), *routes], max_body_bytes=settings.max_body_bytes)
    app[GATEWAY], app[BUS], app[READINESS] = gateway, bus, Readiness(checks)

    async def running(_: web.Application) -> AsyncIterator[None]:
        listener.append(asyncio.create_task(_connect_and_listen(gateway, bus)))
        presence = asyncio.create_task(gateway.presence.run())
        yield
        for task in (listener[0], presence):
            task.cancel()
        await asyncio.gather(listener[0], presence, return_exceptions=True)
        await bus.close()

    app.cleanup_ctx.append(running)
    return app


def create_hooks_app(app: web.Application) -> web.Application:
    """The media server's hooks, on a port of their own (`ONAIR_HOOKS_PORT`) that only the media
    server reaches: on the public port, behind the Ingress, they do not exist."""
    gateway = app[GATEWAY]
    return build_app(gateway.hook_routes, max_body_bytes=gateway.settings.max_body_bytes)
