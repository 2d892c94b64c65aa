"""The `follows` collection (one document per follower and anchor, `_id` = "{user}|{anchor}",
so a repeated follow inserts nothing) and `anchors` (each anchor's follower count, changed only
by a follow that inserted or an unfollow that deleted, so retries never drift it). Both indexes
serve one equality and one range: a user's anchors, an anchor's followers, each by id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]


class FollowStore(Protocol):
    async def follow(self, user_id: str, anchor_id: str, at: datetime) -> bool:
        """True when it is new."""

    async def unfollow(self, user_id: str, anchor_id: str) -> bool:
        """True when there was one."""

    async def following_count(self, user_id: str) -> int: ...

    async def following(self, user_id: str, limit: int, after: str | None) -> list[str]: ...

    def follower_batches(self, anchor_id: str, size: int) -> AsyncIterator[list[str]]:
        """Every follower of the anchor, by id, `size` at a time (one query, read as it streams)."""

    async def follower_count(self, anchor_id: str) -> int: ...


class FollowRepository:
    def __init__(self, follows: AsyncCollection[Doc], anchors: AsyncCollection[Doc]) -> None:
        self._follows, self._anchors = follows, anchors

    async def ensure_indexes(self) -> None:
        await self._follows.create_index([("user_id", ASCENDING), ("anchor_id", ASCENDING)], name="by_user")
        await self._follows.create_index([("anchor_id", ASCENDING), ("user_id", ASCENDING)], name="by_anchor")

    async def follow(self, user_id: str, anchor_id: str, at: datetime) -> bool:
        try:
            await self._follows.insert_one({"_id": f"{user_id}|{anchor_id}", "user_id": user_id,
                                            "anchor_id": anchor_id, "since": at})
        except DuplicateKeyError:
            return False
        await self._anchors.update_one({"_id": anchor_id}, {"$inc": {"followers": 1}}, upsert=True)
        return True

    async def unfollow(self, user_id: str, anchor_id: str) -> bool:
        deleted = await self._follows.delete_one({"_id": f"{user_id}|{anchor_id}"})
        if deleted.deleted_count:
            await self._anchors.update_one({"_id": anchor_id}, {"$inc": {"followers": -1}}, upsert=True)
        return bool(deleted.deleted_count)

    async def following_count(self, user_id: str) -> int:
        return await self._follows.count_documents({"user_id": user_id})

    async def following(self, user_id: str, limit: int, after: str | None) -> list[str]:
        query: Doc = {"user_id": user_id} if after is None else {"user_id": user_id, "anchor_id": {"$gt": after}}
        cursor = self._follows.find(query, {"anchor_id": 1, "_id": 0}).sort("anchor_id", ASCENDING).limit(limit)
        return [doc["anchor_id"] async for doc in cursor]

    async def follower_batches(self, anchor_id: str, size: int) -> AsyncIterator[list[str]]:
        # One cursor the server streams in batches (getMore), not a keyset page per batch: a
        # hundred range queries cost the embedded store a scan each.
        cursor = self._follows.find({"anchor_id": anchor_id}, {"user_id": 1, "_id": 0}, batch_size=size)
        batch: list[str] = []
        async for doc in cursor.sort("user_id", ASCENDING):
            batch.append(doc["user_id"])
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    async def follower_count(self, anchor_id: str) -> int:
        doc = await self._anchors.find_one({"_id": anchor_id})
        return int(doc["followers"]) if doc else 0
