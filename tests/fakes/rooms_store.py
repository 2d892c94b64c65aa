"""In-memory implementations of the rooms service's ports (services/rooms/ports.py), keeping
the rules the MongoDB ones keep: one open room per anchor, unique ids, writes conditional on
the version read, events stored with the write that causes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.rooms.domain import OPEN_STATES, Increment, PushMark, now_ms
from services.rooms.ports import AnchorHasOpenRoom, RoomExists, StoredRoom
from shared.contracts import Envelope, Room, RoomCounts, RoomStatus


@dataclass
class _Doc:
    room: Room
    outbox: list[Envelope] = field(default_factory=list)
    push: PushMark | None = None


class InMemoryRooms:
    """RoomStore. `lose_next_race` makes the next conditional write lose, as if a concurrent
    change had won it (the handler must re-read and decide again)."""

    def __init__(self) -> None:
        self.docs: dict[str, _Doc] = {}
        self.lose_next_race = 0

    async def insert(self, room: Room, outbox: list[Envelope]) -> None:
        if room.id in self.docs:
            raise RoomExists()
        if await self.find_open_by_anchor(room.anchor_id) is not None:
            raise AnchorHasOpenRoom()
        self.docs[room.id] = _Doc(room, list(outbox))

    async def get(self, room_id: str) -> Room | None:
        doc = self.docs.get(room_id)
        return doc.room if doc else None

    async def get_for_write(self, room_id: str) -> StoredRoom | None:
        doc = self.docs.get(room_id)
        return StoredRoom(doc.room, list(doc.outbox), doc.push) if doc else None

    async def get_for_write_by_stream(self, stream_id: str) -> StoredRoom | None:
        room = await self.get_by_stream(stream_id)
        return await self.get_for_write(room.id) if room else None

    async def get_by_stream(self, stream_id: str) -> Room | None:
        return next((d.room for d in self.docs.values() if d.room.stream_id == stream_id), None)

    async def find_open_by_anchor(self, anchor_id: str) -> Room | None:
        return next((d.room for d in self.docs.values()
                     if d.room.anchor_id == anchor_id and d.room.status in OPEN_STATES), None)

    async def transition(self, before: Room, after: Room, event: Envelope | None, push: PushMark | None = None) -> bool:
        doc = self.docs.get(before.id)
        if self.lose_next_race:
            self.lose_next_race -= 1
            assert doc is not None
            doc.room = doc.room.model_copy(update={"version": doc.room.version + 1, "likes": doc.room.likes + 1})
            return False
        if doc is None or doc.room.version != before.version:
            return False
        doc.room = after
        if event is not None:
            doc.outbox.append(event)
        if push is not None:
            doc.push = push
        return True

    async def live_page(self, limit: int, after_id: str | None) -> list[Room]:
        live = sorted((d.room for d in self.docs.values() if d.room.status is RoomStatus.ACTIVE), key=lambda r: r.id)
        return [room for room in live if after_id is None or room.id > after_id][:limit]

    async def of_anchor(self, anchor_id: str, limit: int) -> list[Room]:
        rooms = [d.room for d in self.docs.values() if d.room.anchor_id == anchor_id]
        return sorted(rooms, key=lambda r: r.created_at, reverse=True)[:limit]

    async def count_open(self) -> dict[RoomStatus, int]:
        statuses = (RoomStatus.UNACTIVE, RoomStatus.ACTIVE)
        return {s: sum(1 for d in self.docs.values() if d.room.status is s) for s in statuses}

    async def unactive_created_before(self, cutoff: datetime, limit: int = 100) -> list[Room]:
        return [d.room for d in self.docs.values()
                if d.room.status is RoomStatus.UNACTIVE and d.room.created_at < cutoff][:limit]

    async def with_outbox_before(self, cutoff: datetime, limit: int = 100) -> list[StoredRoom]:
        return [StoredRoom(d.room, list(d.outbox)) for d in self.docs.values()
                if d.outbox and min(e.time for e in d.outbox) < cutoff][:limit]

    async def clear_outbox(self, room_id: str, version: int) -> bool:
        doc = self.docs.get(room_id)
        if doc is None or doc.room.version != version:
            return False
        doc.outbox = []
        return True


class RecordingOutbox:
    """EventOutbox: "publishes" into `published`, then clears the room's outbox like the real one."""

    def __init__(self, rooms: InMemoryRooms) -> None:
        self._rooms = rooms
        self.published: list[Envelope] = []

    async def flush(self, room_id: str, version: int, events: list[Envelope]) -> None:
        self.published.extend(events)
        await self._rooms.clear_outbox(room_id, version)

    def types(self) -> list[str]:
        return [envelope.type for envelope in self.published]


class InMemoryBans:
    """AnchorBans: overlapping bans keep the later end; an ended ban is no ban."""

    def __init__(self) -> None:
        self.until: dict[str, datetime] = {}

    async def banned_until(self, anchor_id: str) -> datetime | None:
        until = self.until.get(anchor_id)
        return until if until is not None and until > now_ms() else None

    async def record(self, anchor_id: str, until: datetime, reason: str, ban_id: str) -> None:
        self.until[anchor_id] = max(until, self.until.get(anchor_id, until))

    async def lift(self, anchor_id: str) -> None:
        self.until.pop(anchor_id, None)


class InMemoryCounters:
    """CounterWriter on the rooms of an InMemoryRooms: every receipt counts once; only live rooms
    take increments, and each change is a new version of the room."""

    def __init__(self, rooms: InMemoryRooms) -> None:
        self._rooms = rooms
        self.receipts: set[str] = set()

    async def apply(self, per_room: dict[str, dict[str, Increment]]) -> list[RoomCounts]:
        if all(receipt in self.receipts for parts in per_room.values() for receipt in parts):
            return [RoomCounts(room_id=doc.room.id, version=doc.room.version, viewers=doc.room.viewers,
                               likes=doc.room.likes, viewers_added=0, likes_added=0)
                    for room_id in per_room if (doc := self._rooms.docs.get(room_id)) is not None
                    and doc.room.status is RoomStatus.ACTIVE]  # a redelivery: the counts as they are
        changed = []
        for room_id, parts in per_room.items():
            fresh = [counts for receipt, counts in parts.items() if receipt not in self.receipts]
            self.receipts.update(parts)
            doc = self._rooms.docs.get(room_id)
            if not fresh or doc is None or doc.room.status is not RoomStatus.ACTIVE:
                continue
            added = sum(fresh, Increment())
            doc.room = doc.room.model_copy(update={"viewers": doc.room.viewers + added.viewers,
                                                   "likes": doc.room.likes + added.likes,
                                                   "version": doc.room.version + 1})
            changed.append(RoomCounts(room_id=room_id, version=doc.room.version, viewers=doc.room.viewers,
                                      likes=doc.room.likes, viewers_added=added.viewers, likes_added=added.likes,
                                      likers_added=added.likers))
        return changed
