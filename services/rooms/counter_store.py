"""Counter writes: one transaction per batch records its receipts and adds its increments.

A receipt is the id of a counter message (or a client's idempotency key, per room). The
transaction inserts the receipts of everything in the batch not seen before and `$inc`s every
touched room (live rooms only) in one bulk write, so increments and receipts commit together:
a redelivered message finds its receipt and is skipped, and a crash before the commit leaves
neither. Receipts expire after a day (redeliveries come back within minutes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.rooms.domain import Increment
from shared.contracts import RoomCounts, RoomStatus

Doc = dict[str, Any]
RECEIPT_TTL_SECONDS = 24 * 3600
MAX_ATTEMPTS = 5


class CounterStore:
    def __init__(self, rooms: AsyncCollection[Doc], receipts: AsyncCollection[Doc]) -> None:
        self._rooms = rooms
        self._receipts = receipts

    async def ensure_indexes(self) -> None:
        await self._receipts.create_index([("at", ASCENDING)], name="receipt_ttl",
                                          expireAfterSeconds=RECEIPT_TTL_SECONDS)

    async def apply(self, per_room: dict[str, dict[str, Increment]]) -> list[RoomCounts]:
        """Apply `{room: {receipt: Increment}}`, skipping receipts already applied. Likers are not
        stored (`sort=hot` decays them in the gateways): a new liker is announced, with a version.

        Returns the new counts of the live rooms that changed; when nothing in the batch is new
        (a redelivery: its announcement may have been lost), the counts of its live rooms as they
        are, with nothing added, so that the redelivery announces them again.
        """
        for _ in range(MAX_ATTEMPTS):
            receipt_ids = {r for parts in per_room.values() for r in parts}
            seen = {doc["_id"] async for doc in self._receipts.find({"_id": {"$in": list(receipt_ids)}}, {"_id": 1})}
            fresh = {room: {r: v for r, v in parts.items() if r not in seen} for room, parts in per_room.items()}
            added = {room: sum(parts.values(), Increment()) for room, parts in fresh.items() if parts}
            if not added:
                return await self._counts({room: Increment() for room in per_room})
            try:
                await self._commit(receipt_ids - seen, added)
            except (BulkWriteError, DuplicateKeyError):
                continue  # a receipt appeared meanwhile (a delivery applied twice at once): re-check
            return await self._counts(added)
        raise RuntimeError("counter batch kept colliding with itself")

    async def _commit(self, receipts: set[str], added: dict[str, Increment]) -> None:
        now = datetime.now(UTC)
        # Every count change is a new version of the room: readers never take older counts.
        updates = [UpdateOne({"_id": room, "status": RoomStatus.ACTIVE.value},
                             {"$inc": {"viewers": inc.viewers, "likes": inc.likes, "version": 1}})
                   for room, inc in added.items()]

        async def write(session: AsyncClientSession) -> None:
            await self._receipts.insert_many([{"_id": r, "at": now} for r in receipts], session=session)
            await self._rooms.bulk_write(updates, ordered=False, session=session)

        # with_transaction retries transient transaction errors (for up to 120 s): a crashed
        # writer's abandoned transaction blocks these rooms until the server aborts it (60 s).
        async with self._rooms.database.client.start_session() as session:
            await session.with_transaction(write)

    async def _counts(self, added: dict[str, Increment]) -> list[RoomCounts]:
        cursor = self._rooms.find({"_id": {"$in": list(added)}, "status": RoomStatus.ACTIVE.value},
                                  {"viewers": 1, "likes": 1, "version": 1})
        return [RoomCounts(room_id=doc["_id"], version=doc["version"], viewers=doc["viewers"], likes=doc["likes"],
                           viewers_added=added[doc["_id"]].viewers, likes_added=added[doc["_id"]].likes,
                           likers_added=added[doc["_id"]].likers)
                async for doc in cursor]
