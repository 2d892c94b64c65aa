"""Publishing of the events each room document queues in its outbox.

The handler publishes right after its write, from what it already holds (no re-read), then
empties the outbox if the room has not changed since. A periodic sweep publishes whatever a
crash (or a lost race with a counter write) left behind. Event ids are stable, so a
re-published event is recognisable as a duplicate, and room versions make it harmless.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from services.rooms.domain import now_ms
from services.rooms.ports import RoomStore
from shared.bus import Bus
from shared.contracts import Envelope
from shared.errors import BusUnavailable

log = structlog.get_logger(__name__)


class Outbox:
    def __init__(self, rooms: RoomStore, bus: Bus) -> None:
        self._rooms = rooms
        self._bus = bus

    async def flush(self, room_id: str, version: int, events: list[Envelope]) -> None:
        """Publish `events` (all of the room's outbox at `version`), then empty the outbox."""
        for envelope in events:
            await self._bus.publish_envelope("events", envelope)
            log.info("event.published", event_type=envelope.type, event_id=envelope.id, room_id=room_id)
        await self._rooms.clear_outbox(room_id, version)

    async def sweep(self, older_than: timedelta = timedelta(seconds=5)) -> int:
        """Publish events left behind by a crash between a write and its flush."""
        stored = await self._rooms.with_outbox_before(now_ms() - older_than)
        for entry in stored:
            try:
                await self.flush(entry.room.id, entry.room.version, entry.outbox)
            except BusUnavailable as exc:
                log.warning("outbox.sweep_failed", room_id=entry.room.id, error=str(exc))
                break
        return len(stored)
