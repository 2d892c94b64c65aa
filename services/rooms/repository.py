"""The rooms collection: the only module of the rooms service that talks to MongoDB.

Each room document carries its own outbox (`outbox`: envelopes not yet published), written in
the same single-document update as the state change, so an event is never lost between the
database write and the publish (see docs/architecture.md, "Outbox").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.rooms.domain import ALLOWED_SOURCES, ListCursor
from shared.contracts import Envelope, Room, RoomStatus

Doc = dict[str, Any]

# Bookkeeping fields of a room document that are not part of the Room contract.
_INTERNAL = frozenset({"_id", "open", "outbox"})
ROOM_FIELDS = {"outbox": 0}


class AnchorHasOpenRoom(Exception):
    """The partial unique index refused a second open room for the anchor."""


def room_from_doc(doc: Doc) -> Room:
    fields = {k: v for k, v in doc.items() if k not in _INTERNAL}
    return Room(id=doc["_id"], **fields)


class RoomRepository:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._rooms = collection

    async def ensure_indexes(self) -> None:
        # The list query: active rooms, newest activation first, id as the tie-breaker.
        await self._rooms.create_index(
            [("status", ASCENDING), ("activated_at", DESCENDING), ("_id", DESCENDING)], name="room_list"
        )
        # "An anchor has at most one open room", enforced by the database under concurrency.
        # `open` is set only while unactive/active: an equality filter works on every MongoDB.
        await self._rooms.create_index(
            [("anchor_id", ASCENDING)], name="one_open_room_per_anchor", unique=True,
            partialFilterExpression={"open": True},
        )
        await self._rooms.create_index([("status", ASCENDING), ("created_at", ASCENDING)], name="by_status_age")
        await self._rooms.create_index([("stream_id", ASCENDING)], name="by_stream", unique=True)
        await self._rooms.create_index([("outbox.time", ASCENDING)], name="outbox_pending", sparse=True)

    async def insert(self, room: Room, outbox: list[Envelope]) -> None:
        doc = room.model_dump(mode="json", exclude={"id"})
        # JSON mode turns enums into strings; keep real datetimes so they sort and compare.
        doc.update(created_at=room.created_at, activated_at=room.activated_at, closed_at=room.closed_at)
        doc.update(_id=room.id, open=True, outbox=[e.model_dump() for e in outbox])
        try:
            await self._rooms.insert_one(doc)
        except DuplicateKeyError as exc:
            key = (exc.details or {}).get("keyPattern") or {}
            if "anchor_id" in key or "one_open_room_per_anchor" in str(exc):
                raise AnchorHasOpenRoom() from exc
            raise

    async def get(self, room_id: str) -> Room | None:
        doc = await self._rooms.find_one({"_id": room_id}, ROOM_FIELDS)
        return room_from_doc(doc) if doc else None

    async def get_by_stream(self, stream_id: str) -> Room | None:
        doc = await self._rooms.find_one({"stream_id": stream_id}, ROOM_FIELDS)
        return room_from_doc(doc) if doc else None

    async def find_open_by_anchor(self, anchor_id: str) -> Room | None:
        doc = await self._rooms.find_one({"anchor_id": anchor_id, "open": True}, ROOM_FIELDS)
        return room_from_doc(doc) if doc else None

    async def transition(
        self, room_id: str, source: RoomStatus, target: RoomStatus, fields: dict[str, Any], event: Envelope
    ) -> Room | None:
        """Move the room from `source` to `target` in one conditional update, queueing `event`.

        Returns the updated room, or None when the room was no longer in `source` (a concurrent
        change won; the caller re-reads and decides again).
        """
        assert source in ALLOWED_SOURCES[target]
        update: dict[str, Any] = {"$set": {**fields, "status": target.value}, "$push": {"outbox": event.model_dump()}}
        if target is RoomStatus.CLOSED:
            update["$unset"] = {"open": ""}
        doc = await self._rooms.find_one_and_update(
            {"_id": room_id, "status": source.value}, update,
            projection=ROOM_FIELDS, return_document=ReturnDocument.AFTER,
        )
        return room_from_doc(doc) if doc else None

    async def list_active(self, limit: int, after: ListCursor | None) -> list[Room]:
        query: Doc = {"status": RoomStatus.ACTIVE.value}
        if after is not None:
            query["$or"] = [
                {"activated_at": {"$lt": after.activated_at}},
                {"activated_at": after.activated_at, "_id": {"$lt": after.room_id}},
            ]
        cursor = self._rooms.find(query, ROOM_FIELDS).sort([("activated_at", DESCENDING), ("_id", DESCENDING)])
        return [room_from_doc(doc) async for doc in cursor.limit(limit)]

    async def unactive_created_before(self, cutoff: datetime, limit: int = 100) -> list[Room]:
        cursor = self._rooms.find({"status": RoomStatus.UNACTIVE.value, "created_at": {"$lt": cutoff}}, ROOM_FIELDS)
        return [room_from_doc(doc) async for doc in cursor.limit(limit)]

    # --- outbox -------------------------------------------------------------------------

    async def outbox_of(self, room_id: str) -> list[Envelope]:
        doc = await self._rooms.find_one({"_id": room_id}, {"outbox": 1})
        return [Envelope.model_validate(e) for e in (doc or {}).get("outbox", [])]

    async def rooms_with_outbox_before(self, cutoff: datetime, limit: int = 100) -> list[str]:
        cursor = self._rooms.find({"outbox.time": {"$lt": cutoff}}, {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def mark_published(self, room_id: str, event_id: str) -> None:
        await self._rooms.update_one({"_id": room_id}, {"$pull": {"outbox": {"id": event_id}}})
