"""Publishing of the events each room document queues in its outbox.

The handler flushes right after its write; a periodic sweep publishes whatever a crash left
behind. Event ids are stable, so a re-published event is recognisable as a duplicate.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from services.rooms.domain import now_ms
from services.rooms.repository import RoomRepository
from shared.bus import Bus
from shared.errors import BusUnavailable

log = structlog.get_logger(__name__)


class Outbox:
    def __init__(self, rooms: RoomRepository, bus: Bus) -> None:
        self._rooms = rooms
        self._bus = bus

    async def flush(self, room_id: str) -> None:
        for envelope in await self._rooms.outbox_of(room_id):
            await self._bus.publish_envelope("events", envelope)
            await self._rooms.mark_published(room_id, envelope.id)
            log.info("event.published", event_type=envelope.type, event_id=envelope.id, room_id=room_id)

    async def sweep(self, older_than: timedelta = timedelta(seconds=5)) -> int:
        """Publish events left behind by a crash between a write and its flush."""
        room_ids = await self._rooms.rooms_with_outbox_before(now_ms() - older_than)
        for room_id in room_ids:
            try:
                await self.flush(room_id)
            except BusUnavailable as exc:
                log.warning("outbox.sweep_failed", room_id=room_id, error=str(exc))
                break
        return len(room_ids)
