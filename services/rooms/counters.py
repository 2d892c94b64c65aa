"""Viewer and like counts: coalesced per room, written together, counted once, acked after.

Batches of `rooms.counters` messages (each already a few milliseconds of one gateway's traffic)
are grouped by room and written in one transaction that adds the increments not seen before
and records their receipts (`CounterStore.apply`). The bus acks the messages only after the
commit and the announcement of the new counts (`room.counters`, for the directories and live
updates): a batch whose announcement the broker refused is redelivered, finds its receipts, and
announces the counts as they are. (A lost announcement is not always superseded by the next: the
last one before a quiet room would leave every gateway's list behind until its next re-sync.)
"""

from __future__ import annotations

import structlog

from services.rooms.domain import coalesce_counters
from services.rooms.ports import CounterWriter, EventPublisher
from shared.bus import exponential_backoff
from shared.contracts import Contract, Envelope, RecordCounters, RoomCountersChanged
from shared.errors import BusUnavailable
from shared.metrics import COUNTER_BATCH_SIZE

log = structlog.get_logger(__name__)

QUEUE = "rooms.counters"
MAX_BATCH = 500
# Counts may trail by about a second: half a second of traffic per write means at most two
# writes per room per second, however many likes arrive.
MAX_WAIT_SECONDS = 0.5


# Counter failures are the database's (transient): 2, 4, 8 ... s, at most 30 s, so the delivery
# limit covers a minute of trouble before anything is dead-lettered.
RETRY_DELAY = exponential_backoff(2.0, 30.0)


async def apply_counter_batch(batch: list[tuple[Envelope, Contract]], *, counters: CounterWriter,
                              events: EventPublisher) -> None:
    per_room = coalesce_counters([(env.id, msg.entries) for env, msg in batch if isinstance(msg, RecordCounters)])
    changed = await counters.apply(per_room)
    COUNTER_BATCH_SIZE.labels("rooms").observe(len(per_room))
    if changed:
        try:
            await events.publish_event(RoomCountersChanged(rooms=changed))
        except BusUnavailable as exc:
            log.warning("counters.event_not_published", error=str(exc), rooms=len(changed))
            raise  # redelivered: written once, announced again
    log.debug("counters.applied", messages=len(batch), rooms=len(per_room), changed=len(changed))
