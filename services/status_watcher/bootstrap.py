"""Composition root of the status watcher: settings, bus, rooms client, cloud adapter, leader lock."""

from __future__ import annotations

from datetime import timedelta

import structlog

from services.status_watcher.domain import StrikeBook
from services.status_watcher.watch import StatusWatch
from shared import metrics
from shared.bus import Bus
from shared.clients import RoomsClient
from shared.cloud import CloudPort
from shared.cloud.factory import cloud_from_settings
from shared.leader import LeaderLock
from shared.ops import bus_check, serving_ops
from shared.settings import WatcherSettings

log = structlog.get_logger(__name__)


def build_watch(settings: WatcherSettings, bus: Bus, cloud: CloudPort) -> StatusWatch:
    book = StrikeBook(settings.watch_strikes, grace=timedelta(seconds=settings.watch_interval))
    return StatusWatch(events=bus, rooms=RoomsClient(bus, timeout=settings.request_timeout_seconds), publisher=bus,
                       cloud=cloud, book=book, interval=settings.watch_interval,
                       resync_every=settings.watch_resync_seconds)


async def run_status_watcher(settings: WatcherSettings) -> None:
    """Run forever; only the replica holding the leader lock polls (see docs/architecture.md)."""
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace, delivery_limit=settings.delivery_limit,
              prefetch=settings.prefetch)
    await bus.connect()
    cloud = cloud_from_settings(settings)
    watch = build_watch(settings, bus, cloud)
    lock = LeaderLock(settings.amqp_url, f"{settings.bus_namespace}.status_watcher.leader")
    log.info("status_watcher.started", cloud=settings.cloud, interval=settings.watch_interval,
             strikes=settings.watch_strikes)
    try:
        async with serving_ops(settings.ops_host, settings.ops_port, {"bus": bus_check(bus)},
                              (metrics.BUS, metrics.WATCHER, metrics.CLOUD)):
            await lock.lead(watch.run)
    finally:
        await cloud.close()
        await bus.close()
