"""The gateway's cache of rooms' statuses: one fetch for concurrent misses, old answers served
while they are refreshed, bounded (on an injected clock: nothing here sleeps)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from services.gateway.live.on_air import RoomStatusCache
from shared.contracts import Room, RoomStatus


class Rooms:
    def __init__(self) -> None:
        self.status: RoomStatus | None = RoomStatus.UNACTIVE
        self.fetches = 0
        self.failing = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def fetch(self) -> Room | None:
        self.fetches += 1
        await self.gate.wait()
        if self.failing:
            raise ConnectionError("rooms is away")
        if self.status is None:
            return None
        return Room(id="r1", anchor_id="a", title="t", cover_url="https://x/c.jpg", status=self.status,
                    created_at=datetime.now(UTC), stream_id="s")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_misses_share_one_fetch() -> None:
    rooms, cache = Rooms(), RoomStatusCache(clock=lambda: 0.0)
    rooms.gate.clear()
    waiting = asyncio.gather(*(cache.status("r1", rooms.fetch) for _ in range(10)))
    await settle()
    rooms.gate.set()
    assert await waiting == [RoomStatus.UNACTIVE] * 10 and rooms.fetches == 1
    assert await cache.status("r1", rooms.fetch) is RoomStatus.UNACTIVE and rooms.fetches == 1  # known now


async def test_an_old_answer_serves_while_it_is_refreshed() -> None:
    now = [0.0]
    rooms, cache = Rooms(), RoomStatusCache(ttl=5, clock=lambda: now[0])
    await cache.status("r1", rooms.fetch)
    rooms.status = RoomStatus.ACTIVE
    now[0] = 4.9
    assert await cache.status("r1", rooms.fetch) is RoomStatus.UNACTIVE and rooms.fetches == 1
    now[0] = 5.0
    assert await cache.status("r1", rooms.fetch) is RoomStatus.UNACTIVE  # old, and a refresh started
    await settle()
    assert await cache.status("r1", rooms.fetch) is RoomStatus.ACTIVE and rooms.fetches == 2


async def test_a_failed_refresh_keeps_the_old_answer_and_no_room_is_none() -> None:
    now = [0.0]
    rooms, cache = Rooms(), RoomStatusCache(ttl=5, clock=lambda: now[0])
    await cache.status("r1", rooms.fetch)
    rooms.failing, now[0] = True, 10.0
    assert await cache.status("r1", rooms.fetch) is RoomStatus.UNACTIVE
    await settle()
    assert await cache.status("r1", rooms.fetch) is RoomStatus.UNACTIVE
    rooms.status, rooms.failing = None, False
    await settle()
    assert await cache.status("gone", rooms.fetch) is None


async def test_learned_statuses_are_bounded() -> None:
    cache = RoomStatusCache(max_rooms=3, clock=lambda: 0.0)
    for n in range(4):
        cache.learn(f"r{n}", RoomStatus.ACTIVE)
    rooms = Rooms()
    assert await cache.status("r3", rooms.fetch) is RoomStatus.ACTIVE and rooms.fetches == 0
    assert await cache.status("r0", rooms.fetch) is RoomStatus.UNACTIVE and rooms.fetches == 1  # forgotten
