"""Composition root of the rooms service: wires settings, MongoDB, the bus and the handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog

from services.rooms import counters
from services.rooms.anchor_bans import AnchorBanView
from services.rooms.counter_store import CounterStore
from services.rooms.counters import apply_counter_batch
from services.rooms.handlers import EVENT_HANDLERS, HANDLERS, QUERY_HANDLERS, RoomsPorts
from services.rooms.maintenance import run_maintenance
from services.rooms.outbox import Outbox
from services.rooms.repository import RoomRepository
from shared.bus import Binding, Bus, dispatcher
from shared.contracts import Contract, Envelope, RecordCounters
from shared.settings import RoomsSettings
from shared.store import mongo_client

log = structlog.get_logger(__name__)

QUEUE = "rooms.commands"
QUERY_QUEUE = "rooms.queries"


@asynccontextmanager
async def running_rooms_service(settings: RoomsSettings) -> AsyncIterator[RoomsPorts]:
    """Start consuming rooms commands; stop cleanly on exit."""
    client = mongo_client(settings.mongodb_url)
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace,
              delivery_limit=settings.delivery_limit, prefetch=settings.prefetch)
    maintenance: asyncio.Task[None] | None = None
    try:
        db = client[settings.mongodb_db]
        repository = RoomRepository(db["rooms"])
        await repository.ensure_indexes()
        await bus.connect()
        counter_store = CounterStore(db["rooms"], db["counter_receipts"])
        await counter_store.ensure_indexes()
        ports = RoomsPorts(rooms=repository, outbox=Outbox(repository, bus),
                           anchor_bans=AnchorBanView(db["anchor_bans"]), counters=counter_store, bus=bus)
        handle = dispatcher("rooms", {**HANDLERS, **EVENT_HANDLERS}, ports)
        bindings = [Binding("commands", model.TYPE) for model in HANDLERS]
        bindings += [Binding("events", model.TYPE) for model in EVENT_HANDLERS]
        await bus.consume(QUEUE, bindings, handle, max_length=settings.queue_max_length)
        await bus.serve_queries(QUERY_QUEUE, [Binding("commands", model.TYPE) for model in QUERY_HANDLERS],
                                dispatcher("rooms", QUERY_HANDLERS, ports))

        async def apply_counters(batch: list[tuple[Envelope, Contract]]) -> None:
            await apply_counter_batch(batch, ports)

        await bus.consume_batches(counters.QUEUE, [Binding("commands", RecordCounters.TYPE)], apply_counters,
                                  max_batch=counters.MAX_BATCH, max_wait=counters.MAX_WAIT_SECONDS,
                                  retry_delay=counters.RETRY_DELAY, max_length=settings.queue_max_length)
        maintenance = asyncio.create_task(run_maintenance(
            ports, every=settings.outbox_sweep_seconds, unactive_ttl=timedelta(seconds=settings.unactive_ttl_seconds),
        ))
        log.info("rooms.started", db=settings.mongodb_db)
        yield ports
    finally:
        if maintenance is not None:
            maintenance.cancel()
        await bus.close()
        await client.close()
