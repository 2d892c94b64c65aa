"""Composition root of the moderation service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog

from services.moderation import handlers
from services.moderation.ports import DetectionPolicy, ModerationStore, Publisher, Rooms
from services.moderation.repository import ModerationRepository
from shared.bus import Binding, Bus, Routes, dispatcher, exponential_backoff, route
from shared.clients import RoomsClient
from shared.cloud import CloudPort
from shared.cloud.factory import cloud_from_settings
from shared.contracts import BanRoom, DetectionReported, ListAnchorBans, ListCases, ResolveCase, RoomClosed, UnbanAnchor
from shared.settings import ModerationSettings
from shared.store import mongo_client

log = structlog.get_logger(__name__)

QUEUE = "moderation.work"  # told: automatic bans, detection reports
CUTS_QUEUE = "moderation.cuts"  # every room.closed: its push cut (retried apart from bans and reports)
REQUEST_QUEUE = "moderation.requests"  # asked: bans, the case list, case resolutions, unbans


# Cloud outages last seconds to minutes: 1, 2, 4 ... s between tries, at most 30 s.
CLOUD_BACKOFF = exponential_backoff(1.0, 30.0)


@dataclass(frozen=True)
class ModerationService:
    """The running service's parts (tests reach into them)."""

    repo: ModerationRepository
    bus: Bus
    cloud: CloudPort


def work_routes(store: ModerationStore, rooms: Rooms, bus: Publisher, policy: DetectionPolicy) -> Routes:
    return dict([
        route(BanRoom, lambda env, cmd: handlers.ban_room(
            cmd, ban_id=env.id, correlation_id=env.correlation_id, rooms=rooms, store=store, events=bus)),
        route(DetectionReported, lambda env, report: handlers.detected(
            report, case_id=env.id, correlation_id=env.correlation_id, rooms=rooms, store=store, commands=bus,
            policy=policy)),
    ])


def cut_routes(store: ModerationStore, cloud: CloudPort, bus: Publisher, forbid_for: timedelta) -> Routes:
    return dict([
        route(RoomClosed, lambda _, event: handlers.cut_stream(event, cloud=cloud, store=store, events=bus,
                                                                forbid_for=forbid_for)),
    ])


def request_routes(store: ModerationStore, rooms: Rooms, bus: Publisher) -> Routes:
    return dict([
        route(BanRoom, lambda env, cmd: handlers.ban_room(
            cmd, ban_id=env.id, correlation_id=env.correlation_id, rooms=rooms, store=store, events=bus)),
        route(UnbanAnchor, lambda env, cmd: handlers.unban_anchor(
            cmd, correlation_id=env.correlation_id, store=store, events=bus)),
        route(ListCases, lambda _, query: handlers.list_cases(query, store=store)),
        route(ListAnchorBans, lambda _, query: handlers.anchor_bans(query, store=store)),
        route(ResolveCase, lambda env, cmd: handlers.resolve_case(
            cmd, correlation_id=env.correlation_id, store=store, rooms=rooms, events=bus)),
    ])


@asynccontextmanager
async def running_moderation_service(settings: ModerationSettings,
                                     cloud: CloudPort | None = None) -> AsyncIterator[ModerationService]:
    client = mongo_client(settings.mongodb_url)
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace,
              delivery_limit=settings.moderation_delivery_limit, prefetch=settings.prefetch)
    cloud = cloud or cloud_from_settings(settings)
    try:
        repo = ModerationRepository(client[settings.mongodb_db])
        await repo.ensure_indexes()
        await bus.connect()
        rooms = RoomsClient(bus, timeout=settings.request_timeout_seconds)
        policy = DetectionPolicy(ban_score=settings.detection_ban_score, ban_hours=settings.detection_ban_hours,
                                 auto_bans_per_minute=settings.detection_auto_bans_per_minute)
        work = work_routes(repo, rooms, bus, policy)
        bindings = [Binding("commands", BanRoom.TYPE), Binding("events", DetectionReported.TYPE)]
        await bus.consume(QUEUE, bindings, dispatcher("moderation", work), retry_delay=CLOUD_BACKOFF)
        # A push URL stays valid for its TTL: the stream of a closed room is forbidden that long.
        cuts = cut_routes(repo, cloud, bus, timedelta(seconds=settings.push_url_ttl_seconds))
        await bus.consume(CUTS_QUEUE, [Binding("events", RoomClosed.TYPE)], dispatcher("moderation", cuts),
                          retry_delay=CLOUD_BACKOFF)
        await bus.serve(REQUEST_QUEUE, [BanRoom, ListCases, ResolveCase, UnbanAnchor, ListAnchorBans],
                        dispatcher("moderation", request_routes(repo, rooms, bus)))
        log.info("moderation.started", cloud=cloud.name)
        yield ModerationService(repo=repo, bus=bus, cloud=cloud)
    finally:
        await bus.close()
        await cloud.close()
        await client.close()
