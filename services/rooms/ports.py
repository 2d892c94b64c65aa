"""What the rooms handlers need of the world, as Protocols: MongoDB implements them in
production (repository.py, anchor_bans.py, counter_store.py, outbox.py), and an in-memory fake
in the unit tests (tests/fakes/rooms_store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.rooms.domain import Increment, PushMark
from shared.contracts import Contract, Envelope, Room, RoomCounts, RoomStatus


class AnchorHasOpenRoom(Exception):
    """The store refused a second open room for the anchor."""


class RoomExists(Exception):
    """A room with this id exists already (a redelivered or retried create)."""


@dataclass(frozen=True)
class StoredRoom:
    """A room as read for a write: its state, the events still waiting in its outbox, and what
    is known of its push."""

    room: Room
    outbox: list[Envelope]
    push: PushMark | None = None


class RoomStore(Protocol):
    """Room documents. Every write is conditional on the version read, and stores the events it
    causes in the room's outbox in the same write."""

    async def insert(self, room: Room, outbox: list[Envelope]) -> None:
        """Raises RoomExists or AnchorHasOpenRoom."""

    async def get(self, room_id: str) -> Room | None: ...

    async def get_for_write(self, room_id: str) -> StoredRoom | None: ...

    async def get_by_stream(self, stream_id: str) -> Room | None: ...

    async def get_for_write_by_stream(self, stream_id: str) -> StoredRoom | None: ...

    async def find_open_by_anchor(self, anchor_id: str) -> Room | None: ...

    async def transition(self, before: Room, after: Room, event: Envelope | None, push: PushMark | None = None) -> bool:
        """Write `after` (and the push mark, if given) if the room is still at `before.version`;
        False if a change won."""

    async def live_page(self, limit: int, after_id: str | None) -> list[Room]: ...

    async def of_anchor(self, anchor_id: str, limit: int) -> list[Room]: ...

    async def count_open(self) -> dict[RoomStatus, int]: ...

    async def unactive_created_before(self, cutoff: datetime, limit: int = 100) -> list[Room]: ...

    async def with_outbox_before(self, cutoff: datetime, limit: int = 100) -> list[StoredRoom]: ...

    async def clear_outbox(self, room_id: str, version: int) -> bool: ...


class EventOutbox(Protocol):
    """Publishes a room's stored events, then clears them from its outbox."""

    async def flush(self, room_id: str, version: int, events: list[Envelope]) -> None: ...


class AnchorBans(Protocol):
    """Rooms' own copy of which anchors are banned until when (moderation's events fill it)."""

    async def banned_until(self, anchor_id: str) -> datetime | None: ...

    async def record(self, anchor_id: str, until: datetime, reason: str, ban_id: str) -> None: ...

    async def lift(self, anchor_id: str) -> None: ...


class CounterWriter(Protocol):
    async def apply(self, per_room: dict[str, dict[str, Increment]]) -> list[RoomCounts]:
        """Add each room's increments (by receipt) not applied before; the changed counts."""


class EventPublisher(Protocol):
    async def publish_event(self, payload: Contract, *, correlation_id: str | None = None,
                            message_id: str | None = None) -> Envelope: ...
