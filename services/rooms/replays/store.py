"""The replays collection. A replay's id is derived from its recording, so a repeated report
inserts nothing new. `unannounced_since` marks a replay whose `room.recording_ready` is not
known to be published (sparse index: the sweep finds them without walking the collection);
`expires_at` is when retention (or its anchor's delete) removes its file and its document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.contracts import Replay

Doc = dict[str, Any]
_INTERNAL = frozenset({"_id", "unannounced_since"})
_DATES = ("started_at", "ended_at", "deleted_at", "expires_at")


class ReplayStore(Protocol):
    async def insert(self, replay: Replay, *, unannounced_since: datetime) -> bool:
        """False when it exists already."""

    async def get(self, replay_id: str) -> Replay | None: ...

    async def page(self, *, anchor_id: str | None, room_id: str | None, limit: int,
                   before: tuple[datetime, str] | None, include_hidden: bool) -> list[Replay]:
        """Newest first (started_at, then id), never deleted ones; hidden ones only if asked."""

    async def update(self, replay_id: str, **fields: Any) -> Replay | None: ...

    async def ban_room(self, room_id: str) -> int: ...

    async def due(self, now: datetime, limit: int = 100) -> list[Replay]:
        """Replays whose time is up (retention, or deleted by their anchor)."""

    async def remove(self, replay_id: str) -> None: ...

    async def unannounced_before(self, cutoff: datetime, limit: int = 100) -> list[Replay]: ...

    async def announced(self, replay_id: str) -> None: ...


def replay_from_doc(doc: Doc) -> Replay:
    return Replay(id=doc["_id"], **{k: v for k, v in doc.items() if k not in _INTERNAL})


class ReplayRepository:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("anchor_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                                   name="anchor_newest")
        await self._c.create_index([("room_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                                   name="room_newest")
        await self._c.create_index([("expires_at", ASCENDING)], name="expires")
        await self._c.create_index([("unannounced_since", ASCENDING)], name="unannounced", sparse=True)

    async def insert(self, replay: Replay, *, unannounced_since: datetime) -> bool:
        doc = replay.model_dump(mode="json", exclude={"id"})
        doc.update({field: getattr(replay, field) for field in _DATES})  # real datetimes: they sort
        doc.update(_id=replay.id, unannounced_since=unannounced_since)
        try:
            await self._c.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, replay_id: str) -> Replay | None:
        doc = await self._c.find_one({"_id": replay_id})
        return replay_from_doc(doc) if doc else None

    async def page(self, *, anchor_id: str | None, room_id: str | None, limit: int,
                   before: tuple[datetime, str] | None, include_hidden: bool) -> list[Replay]:
        owner: Doc = {"anchor_id": anchor_id} if anchor_id is not None else {"room_id": room_id}
        query: Doc = {**owner, "deleted_at": None}
        if not include_hidden:
            query.update(banned=False, hidden_by=None)
        if before is not None:
            started, replay_id = before
            query["$or"] = [{"started_at": {"$lt": started}}, {"started_at": started, "_id": {"$lt": replay_id}}]
        cursor = self._c.find(query).sort([("started_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [replay_from_doc(doc) async for doc in cursor]

    async def update(self, replay_id: str, **fields: Any) -> Replay | None:
        doc = await self._c.find_one_and_update({"_id": replay_id}, {"$set": fields}, return_document=True)
        return replay_from_doc(doc) if doc else None

    async def ban_room(self, room_id: str) -> int:
        result = await self._c.update_many({"room_id": room_id, "banned": False}, {"$set": {"banned": True}})
        return result.modified_count

    async def due(self, now: datetime, limit: int = 100) -> list[Replay]:
        cursor = self._c.find({"expires_at": {"$lte": now}}).sort("expires_at", ASCENDING).limit(limit)
        return [replay_from_doc(doc) async for doc in cursor]

    async def remove(self, replay_id: str) -> None:
        await self._c.delete_one({"_id": replay_id})

    async def unannounced_before(self, cutoff: datetime, limit: int = 100) -> list[Replay]:
        cursor = self._c.find({"unannounced_since": {"$lte": cutoff}}).limit(limit)
        return [replay_from_doc(doc) async for doc in cursor]

    async def announced(self, replay_id: str) -> None:
        await self._c.update_one({"_id": replay_id}, {"$unset": {"unannounced_since": ""}})
