"""Every query the rooms service sends to its store is served by an index: no collection scans.

The repositories run for real (create, activate, counts, close, snapshot pages, the outbox
sweep, expiry, bans) against collections that record each filter they are given; each recorded
filter is then `explain`ed on the same server, and any COLLSCAN in a winning plan fails the test.
Hundreds of closed rooms sit in the collection, as they would in production.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.moderation.repository import ModerationRepository
from services.rooms.anchor_bans import AnchorBanView
from services.rooms.counter_store import CounterStore
from services.rooms.domain import Increment, closing_fields, now_ms, transitioned
from services.rooms.follows.store import FollowRepository
from services.rooms.replays.store import ReplayRepository
from services.rooms.repository import RoomRepository
from shared.contracts import CloseReason, Replay, Room, RoomCreated, RoomStatus, wrap
from shared.store import mongo_client

Doc = dict[str, Any]


class RecordingCollection:
    """Passes every call to the real collection and remembers the filters (and sorts) it saw."""

    def __init__(self, real: Any, seen: list[tuple[str, Doc, Any]]) -> None:
        self._real, self._seen = real, seen

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._real, name)
        if name in ("find", "find_one", "update_one", "update_many", "delete_one", "count_documents",
                    "find_one_and_update"):
            def record(*args: Any, **kwargs: Any) -> Any:
                query = args[0] if args else kwargs.get("filter", {})
                result = target(*args, **kwargs)
                if name == "find":
                    return _RecordingCursor(result, lambda sort: self._seen.append((self._real.name, query, sort)))
                self._seen.append((self._real.name, query, None))
                return result
            return record
        if name == "bulk_write":
            def record_bulk(requests: list[Any], **kwargs: Any) -> Any:
                for request in requests:
                    self._seen.append((self._real.name, request._filter, None))
                return target(requests, **kwargs)
            return record_bulk
        return target


class _RecordingCursor:
    def __init__(self, cursor: Any, done: Any) -> None:
        self._cursor, self._done = cursor, done
        self._sort: tuple[Any, ...] | None = None

    def sort(self, *args: Any) -> _RecordingCursor:
        self._sort = args
        self._cursor = self._cursor.sort(*args)
        return self

    def limit(self, n: int) -> _RecordingCursor:
        self._cursor = self._cursor.limit(n)
        return self

    def __aiter__(self) -> Any:
        self._done(self._sort)
        return self._cursor.__aiter__()


def _stages(plan: Any) -> list[str]:
    if isinstance(plan, dict):
        found = [plan["stage"]] if "stage" in plan else []
        return found + [s for value in plan.values() for s in _stages(value)]
    if isinstance(plan, list):
        return [s for item in plan for s in _stages(item)]
    return []


@pytest.fixture
async def store(mongodb_url: str) -> AsyncIterator[AsyncMongoClient[Doc]]:
    client = mongo_client(mongodb_url)
    yield client
    await client.close()


async def _replays_queries(collection: Any, anchor: str, room_id: str) -> None:
    """The replays collection's every query, over many replays of other anchors."""
    replays = ReplayRepository(collection)
    await replays.ensure_indexes()
    now = now_ms()
    for i in range(200):
        replay = Replay(id=f"old{i:04d}", room_id=f"old{i:04d}", anchor_id=f"a{i}", stream_id=f"onair_old{i}",
                        source="nginx-rtmp", location=f"x/x-{i}.mp4", started_at=now, ended_at=now,
                        duration_seconds=1, size_bytes=1, expires_at=now + timedelta(days=30))
        await replays.insert(replay, unannounced_since=now)
        await replays.announced(replay.id)
    mine = Replay(id="mine", room_id=room_id, anchor_id=anchor, stream_id="onair_plans", source="nginx-rtmp",
                  location="y/y-1.mp4", started_at=now, ended_at=now, duration_seconds=1, size_bytes=1,
                  expires_at=now + timedelta(days=30))
    await replays.insert(mine, unannounced_since=now)
    await replays.get("mine")
    for include_hidden in (False, True):
        await replays.page(anchor_id=anchor, room_id=None, limit=21, before=None, include_hidden=include_hidden)
    assert [r.id for r in await replays.page(anchor_id=None, room_id=room_id, limit=21, before=(now, "z"),
                                             include_hidden=False)] == ["mine"]
    await replays.update("mine", hidden_by="m")
    await replays.ban_room(room_id)
    await replays.unannounced_before(now)
    await replays.due(now)
    await replays.remove("mine")


async def _follows_queries(follows_col: Any, anchors_col: Any, anchor: str) -> None:
    """The follows' every query, over many follows of other users and anchors."""
    follows = FollowRepository(follows_col, anchors_col)
    await follows.ensure_indexes()
    now = now_ms()
    for i in range(200):
        await follows.follow(f"user{i}", f"anchor{i % 7}", now)
    assert await follows.follow("fan", anchor, now)
    await follows.following_count("fan")
    assert await follows.following("fan", 10, None) == [anchor]
    await follows.following("fan", 10, "a")
    assert [batch async for batch in follows.follower_batches(anchor, 10)] == [["fan"]]
    assert await follows.follower_count(anchor) == 1
    assert await follows.unfollow("fan", anchor)


class RecordingDatabase:
    def __init__(self, real: Any, seen: list[tuple[str, Doc, Any]]) -> None:
        self._real, self._seen = real, seen

    def __getitem__(self, name: str) -> RecordingCollection:
        return RecordingCollection(self._real[name], self._seen)


async def _moderation_ban_queries(db: Any, anchor: str) -> None:
    """Moderation's ban trail as the console reads it (an anchor's bans) and an unban marks it."""
    repo = ModerationRepository(db)
    await repo.ensure_indexes()
    now = now_ms()
    for i in range(200):
        await repo.audit_ban(f"old-ban{i}", {"anchor_id": f"a{i}", "at": now, "until": now, "reason": "r", "by": "m",
                                             "room_id": "r"})
    await repo.audit_ban("ban-mine", {"anchor_id": anchor, "at": now, "until": now + timedelta(hours=1),
                                      "reason": "r", "by": "m", "room_id": "r"})
    await repo.ban_anchor(anchor, now + timedelta(hours=1), "r", "ban-mine", "s")
    assert await repo.banned_until(anchor, now) is not None
    await repo.unban_anchor(anchor, "mod", now)
    [ban] = await repo.bans_of(anchor, 20)
    assert ban.lifted_by == "mod"


async def test_every_rooms_query_uses_an_index(store: AsyncMongoClient[Doc]) -> None:
    db = store[f"plans_{uuid.uuid4().hex[:8]}"]
    seen: list[tuple[str, Doc, Any]] = []
    rooms_col, receipts_col, bans_col = (RecordingCollection(db[n], seen) for n in ("rooms", "receipts", "bans"))
    repo = RoomRepository(rooms_col)  # type: ignore[arg-type]
    await repo.ensure_indexes()
    counters = CounterStore(rooms_col, receipts_col)  # type: ignore[arg-type]
    await counters.ensure_indexes()
    bans = AnchorBanView(bans_col)  # type: ignore[arg-type]
    # Enough closed rooms that a scan would show, and one room through its whole life.
    await db["rooms"].insert_many([
        {"_id": f"old{i:04d}", "status": "closed", "version": 3, "anchor_id": f"a{i}", "stream_id": f"onair_old{i}",
         "created_at": datetime(2026, 1, 1, tzinfo=UTC), "outbox": []} for i in range(300)])
    anchor = f"anchor-{uuid.uuid4().hex[:6]}"
    room = Room(id=uuid.uuid4().hex, anchor_id=anchor, title="t", cover_url="https://x/c.jpg",
                status=RoomStatus.UNACTIVE, created_at=now_ms(), stream_id="onair_plans")
    await bans.banned_until(anchor)
    await repo.insert(room, [wrap(RoomCreated(room=room))])
    await repo.clear_outbox(room.id, room.version)
    stored = await repo.get_for_write(room.id)
    assert stored is not None
    active = transitioned(stored.room, RoomStatus.ACTIVE, {"activated_at": now_ms()})
    assert await repo.transition(stored.room, active, wrap(RoomCreated(room=active)))
    await counters.apply({room.id: {"m:1": Increment(1, 2, 1)}})
    await repo.get(room.id)
    await repo.get_by_stream(room.stream_id)
    await repo.get_for_write_by_stream(room.stream_id)
    await repo.find_open_by_anchor(anchor)
    assert [r.id for r in await repo.live_page(10, None)] == [room.id]
    await repo.live_page(10, "0")
    await repo.unactive_created_before(now_ms() - timedelta(minutes=10))
    assert (await repo.count_open())[RoomStatus.ACTIVE] >= 1
    await repo.with_outbox_before(now_ms())
    current = await repo.get(room.id)
    assert current is not None
    closed = transitioned(current, RoomStatus.CLOSED, closing_fields(CloseReason.ANCHOR, now_ms()))
    assert await repo.transition(current, closed, wrap(RoomCreated(room=closed)))
    assert [r.id for r in await repo.of_anchor(anchor, 20)] == [room.id]  # the console's anchor page
    await bans.record(anchor, now_ms() + timedelta(hours=1), "r", "b")
    await bans.lift(anchor)
    await _moderation_ban_queries(RecordingDatabase(db, seen), anchor)
    await _replays_queries(RecordingCollection(db["replays"], seen), anchor, room.id)
    await _follows_queries(RecordingCollection(db["follows"], seen), RecordingCollection(db["anchors"], seen), anchor)

    assert len(seen) >= 15
    for collection, query, sort in seen:
        cursor = db[collection].find(query)
        if sort:
            cursor = cursor.sort(*sort)
        plan = (await cursor.explain())["queryPlanner"]["winningPlan"]
        assert "COLLSCAN" not in _stages(plan), f"{collection} {query} sort={sort}: {plan}"
    await store.drop_database(db.name)
