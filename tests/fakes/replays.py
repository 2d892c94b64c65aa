"""The replays in memory: the rooms service's replay store (its Protocol), and the gateway's
`Replays` port answered by the rooms service's own handlers over it (no broker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.rooms.replays import handlers
from shared.contracts import DeleteReplay, HideReplay, ListReplays, Replay, ReplayPage


class InMemoryReplays:
    def __init__(self) -> None:
        self.replays: dict[str, Replay] = {}
        self.unannounced: dict[str, datetime] = {}

    async def insert(self, replay: Replay, *, unannounced_since: datetime) -> bool:
        if replay.id in self.replays:
            return False
        self.replays[replay.id] = replay
        self.unannounced[replay.id] = unannounced_since
        return True

    async def get(self, replay_id: str) -> Replay | None:
        return self.replays.get(replay_id)

    async def page(self, *, anchor_id: str | None, room_id: str | None, limit: int,
                   before: tuple[datetime, str] | None, include_hidden: bool) -> list[Replay]:
        found = [r for r in self.replays.values()
                 if (r.anchor_id == anchor_id if anchor_id is not None else r.room_id == room_id)
                 and r.deleted_at is None and (include_hidden or not r.hidden)
                 and (before is None or (r.started_at, r.id) < before)]
        return sorted(found, key=lambda r: (r.started_at, r.id), reverse=True)[:limit]

    async def update(self, replay_id: str, **fields: Any) -> Replay | None:
        replay = self.replays.get(replay_id)
        if replay is None:
            return None
        self.replays[replay_id] = replay.model_copy(update=fields)
        return self.replays[replay_id]

    async def ban_room(self, room_id: str) -> int:
        banned = [r for r in self.replays.values() if r.room_id == room_id and not r.banned]
        for replay in banned:
            self.replays[replay.id] = replay.model_copy(update={"banned": True})
        return len(banned)

    async def due(self, now: datetime, limit: int = 100) -> list[Replay]:
        return sorted((r for r in self.replays.values() if r.expires_at <= now), key=lambda r: r.expires_at)[:limit]

    async def remove(self, replay_id: str) -> None:
        self.replays.pop(replay_id, None)
        self.unannounced.pop(replay_id, None)

    async def unannounced_before(self, cutoff: datetime, limit: int = 100) -> list[Replay]:
        return [self.replays[i] for i, since in self.unannounced.items() if since <= cutoff][:limit]

    async def announced(self, replay_id: str) -> None:
        self.unannounced.pop(replay_id, None)


class HandledReplays:
    """The gateway's `Replays` port, answered by the rooms handlers over an in-memory store."""

    def __init__(self, store: InMemoryReplays) -> None:
        self.store = store

    async def replays(self, query: ListReplays, *, correlation_id: str | None = None) -> ReplayPage:
        return await handlers.list_replays(query, replays=self.store)

    async def delete_replay(self, replay_id: str, *, actor_id: str, correlation_id: str | None = None) -> Replay:
        return await handlers.delete_replay(DeleteReplay(replay_id=replay_id, actor_id=actor_id), replays=self.store)

    async def hide_replay(self, replay_id: str, *, moderator_id: str, hidden: bool,
                          correlation_id: str | None = None) -> Replay:
        return await handlers.hide_replay(HideReplay(replay_id=replay_id, moderator_id=moderator_id, hidden=hidden),
                                          replays=self.store)
