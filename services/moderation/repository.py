"""Moderation's own collections: cases (detection reports), the ban audit trail, anchor bans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts import BanRecord, Case, CaseStatus

Doc = dict[str, Any]


def _case(doc: Doc) -> Case:
    return Case(id=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})


def ban_record(doc: Doc) -> BanRecord:
    return BanRecord(ban_id=doc["_id"], **{name: doc.get(name) for name in BanRecord.model_fields if name != "ban_id"})


def _attempt(fields: Doc, error: str | None) -> Doc:
    """An audit record's update for one attempt: its fields, one more attempt, its error if any."""
    update: Doc = {"$set": fields, "$inc": {"attempts": 1}}
    if error is not None:
        update["$push"] = {"errors": error}
    return update


class ModerationRepository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._cases = db["moderation_cases"]
        self._bans = db["moderation_bans"]
        self._anchor_bans = db["moderation_anchor_bans"]
        self._cuts = db["moderation_stream_cuts"]
        self.database = db

    async def ensure_indexes(self) -> None:
        await self._cases.create_index([("status", ASCENDING), ("created_at", DESCENDING)], name="by_status")
        await self._bans.create_index([("anchor_id", ASCENDING), ("at", DESCENDING)], name="by_anchor")

    # --- cases --------------------------------------------------------------------------

    async def add_case(self, case: Case) -> bool:
        """Store a new case; False when it exists already (a repeated detection callback)."""
        doc = case.model_dump(mode="json", exclude={"id"})
        doc.update(_id=case.id, created_at=case.created_at)
        try:
            await self._cases.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def auto_bans_since(self, since: datetime) -> int:
        """Served by the (status, created_at) index; a moderator's bans carry `resolved_by`."""
        return await self._cases.count_documents({"status": CaseStatus.BANNED.value, "created_at": {"$gte": since},
                                                  "resolved_by": None})

    async def get_case(self, case_id: str) -> Case | None:
        doc = await self._cases.find_one({"_id": case_id})
        return _case(doc) if doc else None

    async def resolve_case(self, case_id: str, status: CaseStatus, by: str, at: datetime) -> Case | None:
        """Resolve an open case; None when it is not open (any more)."""
        doc = await self._cases.find_one_and_update(
            {"_id": case_id, "status": CaseStatus.OPEN.value},
            {"$set": {"status": status.value, "resolved_by": by, "resolved_at": at}},
            return_document=ReturnDocument.AFTER,
        )
        return _case(doc) if doc else None

    async def list_cases(self, status: CaseStatus | None, limit: int) -> list[Case]:
        query = {"status": status.value} if status else {}
        cursor = self._cases.find(query).sort([("created_at", DESCENDING)]).limit(limit)
        return [_case(doc) async for doc in cursor]

    # --- bans ---------------------------------------------------------------------------

    async def audit_ban(self, ban_id: str, fields: Doc, *, attempt_error: str | None = None) -> None:
        """Record a ban (or a failed attempt at it) in the audit trail, keyed by the ban command."""
        await self._bans.update_one({"_id": ban_id}, _attempt(fields, attempt_error), upsert=True)

    async def audit_cut(self, room_id: str, fields: Doc, *, attempt_error: str | None = None) -> int:
        """Record a cut of a closed room's push (or a failed attempt), keyed by the room: one close
        each. Returns the attempts so far."""
        doc = await self._cuts.find_one_and_update({"_id": room_id}, _attempt(fields, attempt_error), upsert=True,
                                                   return_document=ReturnDocument.AFTER)
        return int(doc["attempts"]) if doc else 1

    async def cut_record(self, room_id: str) -> Doc | None:
        return await self._cuts.find_one({"_id": room_id})

    async def ban_record(self, ban_id: str) -> Doc | None:
        return await self._bans.find_one({"_id": ban_id})

    async def ban_anchor(self, anchor_id: str, until: datetime, reason: str, ban_id: str, stream_id: str) -> None:
        await self._anchor_bans.update_one(
            {"_id": anchor_id},
            {"$max": {"until": until}, "$set": {"reason": reason, "ban_id": ban_id, "stream_id": stream_id}},
            upsert=True,
        )

    async def unban_anchor(self, anchor_id: str, by: str, at: datetime) -> Doc | None:
        lifted = await self._anchor_bans.find_one_and_delete({"_id": anchor_id})
        # The audit trail keeps who ended the bans in force early (the anchor page shows it). The
        # anchor's bans are read by their index and marked by id: an anchor has few.
        async for doc in self._bans.find({"anchor_id": anchor_id}, {"until": 1, "lifted_at": 1}):
            if doc.get("until") is not None and doc["until"] > at and doc.get("lifted_at") is None:
                await self._bans.update_one({"_id": doc["_id"]}, {"$set": {"lifted_by": by, "lifted_at": at}})
        return lifted

    async def banned_until(self, anchor_id: str, now: datetime) -> datetime | None:
        doc = await self._anchor_bans.find_one({"_id": anchor_id})
        return doc["until"] if doc and doc["until"] > now else None

    async def bans_of(self, anchor_id: str, limit: int) -> list[BanRecord]:
        """The anchor's bans, newest first (the `by_anchor` index); attempts that never recorded
        a ban (no `until`) are left out."""
        cursor = self._bans.find({"anchor_id": anchor_id}).sort("at", DESCENDING).limit(limit)
        return [ban_record(doc) async for doc in cursor if doc.get("until") is not None]
