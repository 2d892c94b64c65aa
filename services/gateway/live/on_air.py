"""What is on air, as the gateway's views and hooks need to know it: is this room live (likes
and views count only then), what is this room (a live-update stream opens on any room), may
this stream be played (every HLS segment of every viewer asks).

Answered from the directory (a dict read) for the rooms it holds and those it saw close; for
any other room (unactive, unknown, closed long ago) rooms is asked, and the answer kept for a
few seconds (`RoomStatusCache`), so a tapping viewer or a playing segment list asks once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from services.gateway.directory import RoomDirectory
from services.gateway.ports import RoomReader
from shared.contracts import Room, RoomStatus


class OnAir:
    def __init__(self, directory: RoomDirectory, rooms: RoomReader, cache: RoomStatusCache | None = None) -> None:
        self._directory, self._rooms = directory, rooms
        self._cache = cache or RoomStatusCache()

    async def status(self, room_id: str, correlation_id: str | None = None) -> RoomStatus | None:
        """The room's status (None: no such room)."""
        directory = self._directory
        if directory.live(room_id) is not None:
            return RoomStatus.ACTIVE
        if directory.closed(room_id):
            return RoomStatus.CLOSED
        return await self._cache.status(room_id, lambda: self._rooms.get(room_id, correlation_id=correlation_id))

    async def room(self, room_id: str, correlation_id: str | None = None) -> Room | None:
        """The room from the directory, or from rooms if the directory does not hold it."""
        known = self._directory.get(room_id)
        if known is not None:
            return known
        return await self._rooms.get(room_id, correlation_id=correlation_id)

    async def stream_playable(self, stream_id: str, correlation_id: str | None = None) -> bool:
        """The stream's room is active (listed or interrupted)."""
        directory = self._directory
        if directory.by_stream(stream_id) is not None:
            return True
        if directory.closed_stream(stream_id):
            return False
        status = await self._cache.status(
            f"stream/{stream_id}", lambda: self._rooms.get_by_stream(stream_id, correlation_id=correlation_id))
        return status is RoomStatus.ACTIVE


class RoomStatusCache:
    """Statuses of rooms the directory does not hold, by id, for `ttl` seconds; an older entry is
    re-read in the background while it keeps serving. One request for all concurrent misses."""

    def __init__(self, *, ttl: float = 5.0, max_rooms: int = 200_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._max, self._clock = ttl, max_rooms, clock
        self._known: dict[str, tuple[RoomStatus | None, float]] = {}
        self._fetching: dict[str, asyncio.Future[RoomStatus | None]] = {}
        self._refreshing: set[asyncio.Task[RoomStatus | None]] = set()

    def learn(self, room_id: str, status: RoomStatus | None) -> None:
        if len(self._known) >= self._max:
            self._known.clear()  # crude but bounded: everything is re-learned on demand
        self._known[room_id] = (status, self._clock() + self._ttl)

    async def status(self, room_id: str, fetch: Callable[[], Awaitable[Room | None]]) -> RoomStatus | None:
        """The room's status (None: no such room), from memory when known."""
        known = self._known.get(room_id)
        if known is not None:
            if known[1] <= self._clock() and room_id not in self._fetching:
                refresh = asyncio.create_task(self._fetch(room_id, fetch))
                self._refreshing.add(refresh)
                refresh.add_done_callback(self._refreshed)
            return known[0]
        return await self._fetch(room_id, fetch)

    def _refreshed(self, task: asyncio.Task[RoomStatus | None]) -> None:
        self._refreshing.discard(task)
        if not task.cancelled():
            task.exception()  # a failed refresh keeps the old answer until the next try

    async def _fetch(self, room_id: str, fetch: Callable[[], Awaitable[Room | None]]) -> RoomStatus | None:
        inflight = self._fetching.get(room_id)
        if inflight is not None:
            return await asyncio.shield(inflight)
        future: asyncio.Future[RoomStatus | None] = asyncio.get_running_loop().create_future()
        self._fetching[room_id] = future
        try:
            room = await fetch()
            status = room.status if room else None
            self.learn(room_id, status)
            future.set_result(status)
            return status
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, the loop does not warn
            raise
        finally:
            del self._fetching[room_id]
