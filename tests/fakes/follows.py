"""The rooms service's follow store in memory (services/rooms/follows/store.py `FollowStore`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime


class InMemoryFollows:
    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], datetime] = {}

    async def follow(self, user_id: str, anchor_id: str, at: datetime) -> bool:
        if (user_id, anchor_id) in self.pairs:
            return False
        self.pairs[(user_id, anchor_id)] = at
        return True

    async def unfollow(self, user_id: str, anchor_id: str) -> bool:
        return self.pairs.pop((user_id, anchor_id), None) is not None

    async def following_count(self, user_id: str) -> int:
        return sum(1 for user, _ in self.pairs if user == user_id)

    async def following(self, user_id: str, limit: int, after: str | None) -> list[str]:
        return sorted(a for u, a in self.pairs if u == user_id and (after is None or a > after))[:limit]

    async def follower_batches(self, anchor_id: str, size: int) -> AsyncIterator[list[str]]:
        followers = sorted(u for u, a in self.pairs if a == anchor_id)
        for start in range(0, len(followers), size):
            yield followers[start:start + size]

    async def follower_count(self, anchor_id: str) -> int:
        return sum(1 for _, anchor in self.pairs if anchor == anchor_id)
