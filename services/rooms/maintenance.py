"""Periodic upkeep: publish events a crash left in outboxes, expire rooms that never went live."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from services.rooms.domain import now_ms
from services.rooms.handlers import RoomsPorts, close_room
from shared.contracts import CloseReason, CloseRoom, wrap
from shared.errors import DomainError
from shared.metrics import ROOMS

log = structlog.get_logger(__name__)


async def expire_unactive_rooms(ports: RoomsPorts, ttl: timedelta) -> int:
    expired = 0
    for room in await ports.rooms.unactive_created_before(now_ms() - ttl):
        command = CloseRoom(room_id=room.id, reason=CloseReason.EXPIRED)
        try:
            await close_room(wrap(command), command, ports)
            expired += 1
        except DomainError:
            pass  # activated or closed meanwhile: nothing to expire
    return expired


async def run_maintenance(ports: RoomsPorts, *, every: float, unactive_ttl: timedelta) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            swept = await ports.outbox.sweep()
            expired = await expire_unactive_rooms(ports, unactive_ttl)
            for status, count in (await ports.rooms.count_live()).items():
                ROOMS.labels(status.value).set(count)
            if swept or expired:
                log.info("maintenance.done", outbox_rooms=swept, expired_rooms=expired)
        except Exception as exc:  # upkeep must outlive a passing outage
            log.warning("maintenance.failed", error=repr(exc))
