"""The rooms collection (room documents and their outboxes). The other collections of the rooms
service have a module each: anchor bans (`anchor_bans.py`) and counter receipts (`counter_store.py`).

Each room document carries its own outbox (`outbox`: envelopes not yet published), written in
the same single-document update as the state change, so an event is never lost between the
database write and the publish (see docs/architecture.md, "Outbox"). `outbox_since` marks a
document whose outbox is not empty, so the sweep finds them through a sparse index and never
walks the collection.

Every write is a conditional `update_one` on `(_id, version)`: the caller read the room at that
version and decided on it, so the update either applies exactly that decision or matches
nothing (a concurrent change won). Every query here is served by an index on MongoDB and on the
embedded store (tests/integration/test_query_plans.py runs `explain` on each).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.rooms.domain import ALLOWED_SOURCES, PushMark
from services.rooms.ports import AnchorHasOpenRoom, RoomExists, StoredRoom
from shared.contracts import Envelope, LiveState, Room, RoomStatus

Doc = dict[str, Any]

# Bookkeeping fields of a room document that are not part of the Room contract.
_INTERNAL = frozenset({"_id", "open", "outbox", "outbox_since", "push"})
ROOM_FIELDS = {"outbox": 0, "push": 0}


def room_from_doc(doc: Doc) -> Room:
    fields = {k: v for k, v in doc.items() if k not in _INTERNAL}
    if fields.get("status") == RoomStatus.ACTIVE.value and fields.get("stream_state") is None:
        fields["stream_state"] = LiveState.LIVE  # activated before rooms tracked pushes
    return Room(id=doc["_id"], **fields)


def _stored(doc: Doc) -> StoredRoom:
    push = doc.get("push")
    return StoredRoom(room_from_doc(doc), [Envelope.model_validate(e) for e in doc.get("outbox", [])],
                      PushMark(push["session"], push["at"], push["on"]) if push else None)


def _storable(room: Room) -> Doc:
    doc = room.model_dump(mode="json", exclude={"id"})
    # JSON mode turns enums into strings; keep real datetimes so they sort and compare.
    doc.update(created_at=room.created_at, activated_at=room.activated_at, closed_at=room.closed_at,
               interrupted_at=room.interrupted_at)
    return doc


# name -> (keys, options). The list index is gone: the gateways' directories serve the list.
INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    # Conditional writes `{_id, version}` (MongoDB would use `_id_`; the embedded store's planner
    # only takes an index that has both fields).
    "by_version": ([("_id", ASCENDING), ("version", ASCENDING)], {}),
    # Snapshot pages of active rooms by id, and the counter writes `{_id, status}`.
    "by_status_id": ([("status", ASCENDING), ("_id", ASCENDING)], {}),
    # "An anchor has at most one open room", enforced by the database under concurrency.
    # `open` is set only while unactive/active: an equality filter works on every MongoDB.
    "one_open_room_per_anchor": ([("anchor_id", ASCENDING)],
                                 {"unique": True, "partialFilterExpression": {"open": True}}),
    "by_status_age": ([("status", ASCENDING), ("created_at", ASCENDING)], {}),
    # An anchor's rooms, newest first (the moderation console).
    "by_anchor_age": ([("anchor_id", ASCENDING), ("created_at", DESCENDING)], {}),
    "by_stream": ([("stream_id", ASCENDING)], {"unique": True}),
    "outbox_pending": ([("outbox_since", ASCENDING)], {"sparse": True}),
}


class RoomRepository:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._rooms = collection

    @property
    def database(self) -> AsyncDatabase[Doc]:
        return self._rooms.database

    async def ensure_indexes(self) -> None:
        if "room_list" in await self._rooms.index_information():
            await self._migrate_from_unversioned()
        for name, (keys, options) in INDEXES.items():
            await self._rooms.create_index(keys, name=name, **options)

    async def _migrate_from_unversioned(self) -> None:
        """Once, from the schema before versions: the list index left the database (the gateways
        serve the list) and the outbox is found by a flag; every room starts at version 1."""
        for stale in ("room_list", "outbox_pending"):
            await self._rooms.drop_index(stale)
        await self._rooms.update_many({"version": {"$exists": False}}, {"$set": {"version": 1}})
        await self._rooms.update_many({"outbox.0": {"$exists": True}}, {"$set": {"outbox_since": datetime.now(UTC)}})

    async def insert(self, room: Room, outbox: list[Envelope]) -> None:
        doc = _storable(room)
        doc.update(_id=room.id, open=True, outbox=[e.model_dump() for e in outbox])
        if outbox:
            doc["outbox_since"] = min(e.time for e in outbox)
        try:
            await self._rooms.insert_one(doc)
        except DuplicateKeyError as exc:
            key = (exc.details or {}).get("keyPattern") or {}
            if "anchor_id" in key or "one_open_room_per_anchor" in str(exc):
                raise AnchorHasOpenRoom() from exc
            if "_id" in key or "stream_id" in key:  # the stream id derives from the room id
                raise RoomExists() from exc
            raise

    async def get(self, room_id: str) -> Room | None:
        doc = await self._rooms.find_one({"_id": room_id}, ROOM_FIELDS)
        return room_from_doc(doc) if doc else None

    async def get_for_write(self, room_id: str) -> StoredRoom | None:
        doc = await self._rooms.find_one({"_id": room_id})
        return _stored(doc) if doc else None

    async def get_for_write_by_stream(self, stream_id: str) -> StoredRoom | None:
        doc = await self._rooms.find_one({"stream_id": stream_id})
        return _stored(doc) if doc else None

    async def get_by_stream(self, stream_id: str) -> Room | None:
        doc = await self._rooms.find_one({"stream_id": stream_id}, ROOM_FIELDS)
        return room_from_doc(doc) if doc else None

    async def find_open_by_anchor(self, anchor_id: str) -> Room | None:
        doc = await self._rooms.find_one({"anchor_id": anchor_id, "open": True}, ROOM_FIELDS)
        return room_from_doc(doc) if doc else None

    async def transition(self, before: Room, after: Room, event: Envelope | None, push: PushMark | None = None) -> bool:
        """Write `after` (decided from `before`), the push mark if given, and queue `event`, if the
        room is still at `before.version`. False: a concurrent change won; the caller re-reads
        and decides again."""
        assert after.version == before.version + 1
        assert after.status is before.status or before.status in ALLOWED_SOURCES[after.status]
        changed = {k: v for k, v in _storable(after).items() if getattr(before, k) != getattr(after, k)}
        if push is not None:
            changed["push"] = {"session": push.session, "at": push.at, "on": push.on}
        update: dict[str, Any] = {"$set": changed}
        if event is not None:
            update.update({"$push": {"outbox": event.model_dump()}, "$min": {"outbox_since": event.time}})
        if after.status is RoomStatus.CLOSED:
            update["$unset"] = {"open": ""}
        result = await self._rooms.update_one({"_id": before.id, "version": before.version}, update)
        return result.matched_count == 1

    async def live_page(self, limit: int, after_id: str | None) -> list[Room]:
        query: Doc = {"status": RoomStatus.ACTIVE.value}
        if after_id is not None:
            query["_id"] = {"$gt": after_id}
        cursor = self._rooms.find(query, ROOM_FIELDS).sort("_id", ASCENDING).limit(limit)
        return [room_from_doc(doc) async for doc in cursor]

    async def of_anchor(self, anchor_id: str, limit: int) -> list[Room]:
        cursor = self._rooms.find({"anchor_id": anchor_id}, ROOM_FIELDS).sort("created_at", DESCENDING).limit(limit)
        return [room_from_doc(doc) async for doc in cursor]

    async def count_open(self) -> dict[RoomStatus, int]:
        """Open rooms by status, unactive and active (on the status index; closed ones are not counted)."""
        statuses = (RoomStatus.UNACTIVE, RoomStatus.ACTIVE)
        return {status: await self._rooms.count_documents({"status": status.value}) for status in statuses}

    async def unactive_created_before(self, cutoff: datetime, limit: int = 100) -> list[Room]:
        cursor = self._rooms.find({"status": RoomStatus.UNACTIVE.value, "created_at": {"$lt": cutoff}}, ROOM_FIELDS)
        return [room_from_doc(doc) async for doc in cursor.limit(limit)]

    # --- outbox -------------------------------------------------------------------------

    async def with_outbox_before(self, cutoff: datetime, limit: int = 100) -> list[StoredRoom]:
        cursor = self._rooms.find({"outbox_since": {"$lt": cutoff}}).sort("outbox_since", ASCENDING)
        return [_stored(doc) async for doc in cursor.limit(limit)]

    async def clear_outbox(self, room_id: str, version: int) -> bool:
        """Empty the outbox of a room still at `version` (its events are published). False when
        the room changed since: the sweep publishes again what is left, later."""
        result = await self._rooms.update_one({"_id": room_id, "version": version},
                                              {"$set": {"outbox": []}, "$unset": {"outbox_since": ""}})
        return result.matched_count == 1
