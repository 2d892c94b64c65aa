"""Composition root of the rooms service: wires settings, MongoDB, the bus and the handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import structlog

from services.rooms import counters, handlers
from services.rooms.anchor_bans import AnchorBanView
from services.rooms.counter_store import CounterStore
from services.rooms.domain import PushReport, reported_push
from services.rooms.follows import routes as follow_routes
from services.rooms.follows.store import FollowRepository
from services.rooms.maintenance import run_maintenance
from services.rooms.outbox import Outbox
from services.rooms.ports import AnchorBans, EventOutbox, RoomStore
from services.rooms.replays import routes as replay_routes
from services.rooms.replays.retention import run_upkeep
from services.rooms.replays.store import ReplayRepository
from services.rooms.repository import RoomRepository
from shared.bus import Binding, Bus, Routes, dispatcher, route
from shared.cloud.factory import cloud_from_settings
from shared.cloud.port import CloudPort
from shared.contracts import (
    ActivateRoom,
    AnchorBanned,
    AnchorUnbanned,
    BanAnchor,
    CloseRoom,
    Contract,
    CreateRoom,
    DeleteReplay,
    Envelope,
    Follow,
    GetAnchor,
    GetRoom,
    GetRoomByStream,
    HideReplay,
    ListAnchorRooms,
    ListFollowing,
    ListLiveRooms,
    ListReplays,
    RecordCounters,
    Room,
    RoomActivated,
    StreamOfflineStrike,
    StreamRecovered,
    StreamStarted,
    StreamStopped,
)
from shared.settings import CloudSettings, RoomsSettings
from shared.store import mongo_client

log = structlog.get_logger(__name__)

QUEUE = "rooms.commands"  # told: commands and the events rooms reacts to (dead-lettered when they fail)
REQUEST_QUEUE = "rooms.requests"  # asked commands (dropped, never dead-lettered, when nobody waits)
QUERY_QUEUE = "rooms.queries"  # asked reads
# Rooms used to copy anchor bans from moderation's events; now moderation asks it (rooms.ban_anchor).
RETIRED_BINDINGS = [Binding("events", AnchorBanned.TYPE)]


@dataclass(frozen=True)
class RoomsService:
    """The running service's parts (tests reach into them)."""

    rooms: RoomRepository
    outbox: Outbox
    anchor_bans: AnchorBanView
    counters: CounterStore
    replays: ReplayRepository
    bus: Bus


def command_routes(rooms: RoomStore, bans: AnchorBans, outbox: EventOutbox,
                   thumbnail_template: str | None = None) -> Routes:
    return dict([
        route(CreateRoom, lambda env, cmd: handlers.create_room(
            cmd, room_id=env.id, correlation_id=env.correlation_id, rooms=rooms, bans=bans, events=outbox,
            thumbnail_template=thumbnail_template)),
        route(ActivateRoom, lambda env, cmd: handlers.activate_room(
            cmd, correlation_id=env.correlation_id, rooms=rooms, events=outbox)),
        route(CloseRoom, lambda env, cmd: handlers.close_room(
            cmd, correlation_id=env.correlation_id, rooms=rooms, events=outbox)),
        route(BanAnchor, lambda env, cmd: handlers.ban_anchor(
            cmd, correlation_id=env.correlation_id, rooms=rooms, bans=bans, events=outbox)),
    ])


def event_routes(rooms: RoomStore, bans: AnchorBans, outbox: EventOutbox) -> Routes:
    """Events rooms reacts to: unbans, and every report of a push (hooks, callbacks, polls)."""

    def push(env: Envelope, report: PushReport) -> Awaitable[Room | None]:
        # Hooks and callbacks name the stream; the watcher's polls name the room.
        if isinstance(report, StreamStarted | StreamStopped):
            stored = partial(rooms.get_for_write_by_stream, report.stream_id)
        else:
            stored = partial(rooms.get_for_write, report.room_id)
        return handlers.push_reported(stored, reported_push(report, env.time), correlation_id=env.correlation_id,
                                      rooms=rooms, events=outbox)

    return dict([
        route(AnchorUnbanned, lambda _, event: handlers.anchor_unbanned(event, bans=bans)),
        route(StreamStarted, push),
        route(StreamStopped, push),
        route(StreamOfflineStrike, push),
        route(StreamRecovered, push),
    ])


def query_routes(rooms: RoomStore) -> Routes:
    return dict([
        route(GetRoom, lambda _, query: handlers.get_room(query, rooms=rooms)),
        route(GetRoomByStream, lambda _, query: handlers.get_room_by_stream(query, rooms=rooms)),
        route(ListLiveRooms, lambda _, query: handlers.list_live_rooms(query, rooms=rooms)),
        route(ListAnchorRooms, lambda _, query: handlers.anchor_rooms(query, rooms=rooms)),
    ])


@asynccontextmanager
async def running_rooms_service(settings: RoomsSettings, *,
                                storage: CloudPort | None = None) -> AsyncIterator[RoomsService]:
    """Start consuming rooms commands; stop cleanly on exit."""
    client = mongo_client(settings.mongodb_url)
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace,
              delivery_limit=settings.delivery_limit, prefetch=settings.prefetch)
    # Where replays' files are deleted when their time is up (ONAIR_CLOUD's adapter).
    storage = storage or cloud_from_settings(CloudSettings())
    maintenance: list[asyncio.Task[None]] = []
    try:
        db = client[settings.mongodb_db]
        rooms = RoomRepository(db["rooms"])
        await rooms.ensure_indexes()
        await bus.connect()
        counter_store = CounterStore(db["rooms"], db["counter_receipts"])
        await counter_store.ensure_indexes()
        replays = ReplayRepository(db["replays"])
        await replays.ensure_indexes()
        follows = FollowRepository(db["follows"], db["anchors"])
        await follows.ensure_indexes()
        service = RoomsService(rooms=rooms, outbox=Outbox(rooms, bus), anchor_bans=AnchorBanView(db["anchor_bans"]),
                               counters=counter_store, replays=replays, bus=bus)
        commands = command_routes(rooms, service.anchor_bans, service.outbox, settings.thumbnail_url_template)
        retention = timedelta(days=settings.replay_retention_days)
        events = {**event_routes(rooms, service.anchor_bans, service.outbox),
                  **replay_routes.event_routes(rooms, replays, bus, retention)}
        commands_asked = {**commands, **replay_routes.request_routes(replays),
                          **follow_routes.request_routes(follows, bus, settings.max_following)}
        bindings = [Binding("commands", model.TYPE) for model in commands]
        bindings += [Binding("events", model.TYPE) for model in events]
        limit = settings.queue_max_length
        await bus.consume(QUEUE, bindings, dispatcher("rooms", {**commands, **events}), max_length=limit,
                          retired=RETIRED_BINDINGS)
        await bus.serve(REQUEST_QUEUE, [CreateRoom, ActivateRoom, CloseRoom, BanAnchor, DeleteReplay, HideReplay,
                                        Follow], dispatcher("rooms", commands_asked), max_length=limit)
        queries = {**query_routes(rooms), **replay_routes.query_routes(replays),
                   **follow_routes.query_routes(follows, rooms, service.anchor_bans)}
        await bus.serve(QUERY_QUEUE, [GetRoom, GetRoomByStream, ListLiveRooms, ListReplays, ListFollowing, GetAnchor,
                                       ListAnchorRooms],
                        dispatcher("rooms", queries), max_length=limit)
        await bus.consume(follow_routes.ALERTS_QUEUE, [Binding("events", RoomActivated.TYPE)],
                          dispatcher("rooms", follow_routes.alert_routes(follows, bus)), max_length=limit)

        async def apply_counters(batch: list[tuple[Envelope, Contract]]) -> None:
            await counters.apply_counter_batch(batch, counters=counter_store, events=bus)

        await bus.consume_batches(counters.QUEUE, [Binding("commands", RecordCounters.TYPE)], apply_counters,
                                  max_batch=counters.MAX_BATCH, max_wait=counters.MAX_WAIT_SECONDS,
                                  retry_delay=counters.RETRY_DELAY, max_length=limit)
        maintenance = [
            asyncio.create_task(run_maintenance(rooms, service.outbox, every=settings.outbox_sweep_seconds,
                                                unactive_ttl=timedelta(seconds=settings.unactive_ttl_seconds))),
            asyncio.create_task(run_upkeep(replays, storage, bus, every=settings.outbox_sweep_seconds)),
        ]
        log.info("rooms.started", db=settings.mongodb_db)
        yield service
    finally:
        for task in maintenance:
            task.cancel()
        await bus.close()
        await storage.close()
        await client.close()
