"""The replays collection. A replay's id is derived from its recording, so a repeated report
inserts nothing new. `unannounced_since` marks a replay whose `room.recording_ready` is not
known to be published (sparse index: the sweep finds them without walking the collection);
`expires_at` is when retention (or its anchor's delete) removes its file and its document.

Pages are keyset scans of one index each: `order_key` (start time in ms, then id, as one
string: newest first) after an equality on who may see it, `public` (everyone) or `kept`
(moderators: all but deleted), both derived from the replay on every write. One range on one
key, no `$or`: the embedded store plans only such queries onto an index."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.contracts import Replay

Doc = dict[str, Any]
_INTERNAL = frozenset({"_id", "unannounced_since", "public", "kept", "order_key"})
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


def order_key(started_at: datetime, replay_id: str) -> str:
    return f"{int(started_at.timestamp() * 1000):015d}:{replay_id}"


def _derived(replay: Replay) -> Doc:
    return {"public": not replay.hidden, "kept": replay.deleted_at is None,
            "order_key": order_key(replay.started_at, replay.id)}


def _storable(replay: Replay) -> Doc:
    doc = replay.model_dump(mode="json", exclude={"id"})
    doc.update({field: getattr(replay, field) for field in _DATES})  # real datetimes: they sort
    return {**doc, **_derived(replay)}


class ReplayRepository:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        for audience in ("public", "kept"):
            await self._c.create_index([("anchor_id", ASCENDING), (audience, ASCENDING), ("order_key", DESCENDING)],
                                       name=f"anchor_{audience}_newest")
        await self._c.create_index([("room_id", ASCENDING)], name="room")
        await self._c.create_index([("expires_at", ASCENDING)], name="expires")
        await self._c.create_index([("unannounced_since", ASCENDING)], name="unannounced", sparse=True)

    async def insert(self, replay: Replay, *, unannounced_since: datetime) -> bool:
        doc = {**_storable(replay), "_id": replay.id, "unannounced_since": unannounced_since}
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
        audience = "kept" if include_hidden else "public"
        if anchor_id is None:  # a room's few parts (one per push session): read them all, then pick
            docs = [doc async for doc in self._c.find({"room_id": room_id})]
            found = sorted((d for d in docs if d[audience]), key=lambda d: d["order_key"], reverse=True)
            after = order_key(*before) if before else None
            return [replay_from_doc(d) for d in found if after is None or d["order_key"] < after][:limit]
        query: Doc = {"anchor_id": anchor_id, audience: True}
        if before is not None:
            query["order_key"] = {"$lt": order_key(*before)}
        cursor = self._c.find(query).sort("order_key", DESCENDING).limit(limit)
        return [replay_from_doc(doc) async for doc in cursor]

    async def update(self, replay_id: str, **fields: Any) -> Replay | None:
        replay = await self.get(replay_id)
        if replay is None:
            return None
        changed = replay.model_copy(update=fields)
        await self._c.update_one({"_id": replay_id}, {"$set": _storable(changed)})
        return changed

    async def ban_room(self, room_id: str) -> int:
        result = await self._c.update_many({"room_id": room_id}, {"$set": {"banned": True, "public": False}})
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
