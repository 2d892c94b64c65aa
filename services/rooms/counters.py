"""Viewer and like counts: coalesced per room, written together, counted once, acked after.

Batches of `rooms.counters` messages (each already a few milliseconds of one gateway's traffic)
are grouped by room; each room gets one atomic update per batch that adds the increments not
seen before and records their receipts (see `RoomRepository.apply_increments`). The bus acks the
messages only after every update returned. The new counts are then announced as
`room.counters` events for the live-update streams.
"""

from __future__ import annotations

import asyncio

import structlog

from services.rooms.domain import coalesce_counters
from services.rooms.handlers import RoomsPorts
from shared.contracts import Contract, Envelope, RecordCounters, RoomCountersChanged

log = structlog.get_logger(__name__)

QUEUE = "rooms.counters"
MAX_BATCH = 500
MAX_WAIT_SECONDS = 0.1


async def apply_counter_batch(batch: list[tuple[Envelope, Contract]], ports: RoomsPorts) -> None:
    per_room = coalesce_counters([(env.id, msg.entries) for env, msg in batch if isinstance(msg, RecordCounters)])
    rooms = list(per_room)
    results = await asyncio.gather(*(ports.rooms.apply_increments(room, per_room[room]) for room in rooms))
    events = [RoomCountersChanged(room_id=room, **result) for room, result in zip(rooms, results, strict=True)
              if result is not None]
    published = await asyncio.gather(*(ports.bus.publish_event(event) for event in events), return_exceptions=True)
    failed = sum(isinstance(p, Exception) for p in published)
    if failed:
        log.warning("counters.events_not_published", failed=failed)  # snapshots: the next one catches up
    log.debug("counters.applied", messages=len(batch), rooms=len(rooms), changed=len(events))
