"""Composition root of the moderation service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from services.moderation.handlers import COMMAND_HANDLERS, EVENT_HANDLERS, ModerationPorts
from services.moderation.repository import ModerationRepository
from shared.bus import Binding, Bus, dispatcher, exponential_backoff
from shared.cloud import CloudPort
from shared.cloud.factory import cloud_from_settings
from shared.settings import ModerationSettings
from shared.store import mongo_client

log = structlog.get_logger(__name__)

QUEUE = "moderation.work"


# Cloud outages last seconds to minutes: 1, 2, 4 ... s between tries, at most 30 s.
BAN_BACKOFF = exponential_backoff(1.0, 30.0)


@asynccontextmanager
async def running_moderation_service(settings: ModerationSettings,
                                     cloud: CloudPort | None = None) -> AsyncIterator[ModerationPorts]:
    client = mongo_client(settings.mongodb_url)
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace,
              delivery_limit=settings.moderation_delivery_limit, prefetch=settings.prefetch)
    cloud = cloud or cloud_from_settings(settings)
    try:
        repo = ModerationRepository(client[settings.mongodb_db])
        await repo.ensure_indexes()
        await bus.connect()
        ports = ModerationPorts(repo=repo, bus=bus, cloud=cloud, request_timeout=settings.request_timeout_seconds,
                                detection_ban_score=settings.detection_ban_score,
                                detection_ban_hours=settings.detection_ban_hours)
        bindings = [Binding("commands", m.TYPE) for m in COMMAND_HANDLERS]
        bindings += [Binding("events", m.TYPE) for m in EVENT_HANDLERS]
        await bus.consume(QUEUE, bindings, dispatcher("moderation", {**COMMAND_HANDLERS, **EVENT_HANDLERS}, ports),
                          retry_delay=BAN_BACKOFF)
        log.info("moderation.started", cloud=cloud.name)
        yield ports
    finally:
        await bus.close()
        await cloud.close()
        await client.close()
