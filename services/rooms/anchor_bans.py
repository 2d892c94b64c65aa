"""The rooms service's own view of anchor bans, kept from moderation's events.

Moderation owns bans; rooms keeps this copy so that "a banned anchor cannot open a room" is
checked where rooms are created, without a call to moderation on every create.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.rooms.domain import now_ms


class AnchorBanView:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._bans = collection

    async def record(self, anchor_id: str, until: datetime, reason: str, ban_id: str) -> None:
        # Overlapping bans keep the later end.
        await self._bans.update_one(
            {"_id": anchor_id}, {"$max": {"until": until}, "$set": {"reason": reason, "ban_id": ban_id}}, upsert=True
        )

    async def lift(self, anchor_id: str) -> None:
        await self._bans.delete_one({"_id": anchor_id})

    async def banned_until(self, anchor_id: str) -> datetime | None:
        # By id alone (a point read on every store); the end is checked here.
        doc = await self._bans.find_one({"_id": anchor_id})
        return doc["until"] if doc and doc["until"] > now_ms() else None
