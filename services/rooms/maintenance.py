"""Periodic upkeep: publish events a crash left in outboxes, expire rooms that never went live."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from services.rooms.domain import now_ms
from services.rooms.handlers import close_room
from services.rooms.outbox import Outbox
from services.rooms.ports import EventOutbox, RoomStore
from shared.contracts import CloseReason, CloseRoom
from shared.errors import DomainError
from shared.metrics import ROOMS

log = structlog.get_logger(__name__)


async def expire_unactive_rooms(rooms: RoomStore, outbox: EventOutbox, ttl: timedelta) -> int:
    expired = 0
    for room in await rooms.unactive_created_before(now_ms() - ttl):
        try:
            await close_room(CloseRoom(room_id=room.id, reason=CloseReason.EXPIRED), correlation_id=None,
                             rooms=rooms, events=outbox)
            expired += 1
        except DomainError:
            pass  # activated or closed meanwhile: nothing to expire
    return expired


async def run_maintenance(rooms: RoomStore, outbox: Outbox, *, every: float, unactive_ttl: timedelta) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            swept = await outbox.sweep()
            expired = await expire_unactive_rooms(rooms, outbox, unactive_ttl)
            for status, count in (await rooms.count_open()).items():
                ROOMS.labels(status.value).set(count)
            if swept or expired:
                log.info("maintenance.done", outbox_rooms=swept, expired_rooms=expired)
        except Exception as exc:  # upkeep must outlive a passing outage
            log.warning("maintenance.failed", error=repr(exc))
