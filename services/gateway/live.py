"""What a gateway knows of live rooms, from the events the rooms service emits.

- `RoomStatusCache`: the status of rooms the directory does not hold (unactive, unknown, closed
  long ago), so likes and views for them are refused without asking rooms on every tap. Asked
  of rooms on a miss (one request for all concurrent misses); an entry older than `ttl` is
  re-read in the background while the old answer keeps serving.
- `LiveRooms`: the viewers connected to this gateway per room. Each viewer keeps only the
  latest counts (and the likes added since it was last written to), so a slow viewer costs
  memory for one snapshot and never blocks the others. Its counts per room are this gateway's
  share of `viewers_now` (`presence.py`); `tick` finds the streams whose connection is gone and rings their heartbeats.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.contracts import LiveState, Room, RoomCounts, RoomStatus


class RoomStatusCache:
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


@dataclass(eq=False)  # identity semantics: each stream is its own viewer
class Viewer:
    """One live-update stream: the newest snapshot to write, and a bell to ring."""

    user: str = ""  # who watches: `viewers_now` counts people, not their streams
    alive: Callable[[], bool] = lambda: True  # False once the connection is gone
    counts: dict[str, int] | None = None
    stream: tuple[str, dict[str, Any]] | None = None  # `interrupted` or `resumed`, the newest only
    closed: dict[str, Any] | None = None
    gone: bool = False
    beat_due: bool = False  # time for a heartbeat (and a look at the token's expiry)
    next_beat: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self) -> tuple[dict[str, int] | None, tuple[str, dict[str, Any]] | None, dict[str, Any] | None, bool]:
        counts, self.counts = self.counts, None
        stream, self.stream = self.stream, None
        beat, self.beat_due = self.beat_due, False
        self.wake.clear()
        return counts, stream, self.closed, beat

    def push_counts(self, viewers: int, viewers_now: int, likes: int, *, viewers_added: int = 0,
                    likes_added: int = 0) -> None:
        added = self.counts or {"likes_added": 0, "viewers_added": 0}
        self.counts = {"viewers": viewers, "viewers_now": viewers_now, "likes": likes,
                       "viewers_added": added["viewers_added"] + viewers_added,
                       "likes_added": added["likes_added"] + likes_added}
        self.wake.set()

    def push_stream(self, room: Room) -> None:
        """The push stopped (`interrupted`) or is back (`resumed`); a viewer sees the newest."""
        if room.stream_state is LiveState.INTERRUPTED:
            at = room.interrupted_at.isoformat() if room.interrupted_at else None
            self.stream = ("interrupted", {"stream_state": room.stream_state.value, "interrupted_at": at})
        else:
            self.stream = ("resumed", {"stream_state": LiveState.LIVE.value})
        self.wake.set()

    def push_closed(self, room: Room) -> None:
        self.closed = {"status": room.status.value,
                       "close_reason": room.close_reason.value if room.close_reason else None,
                       "closed_at": room.closed_at.isoformat() if room.closed_at else None}
        self.wake.set()


class LiveRooms:
    def __init__(self, *, heartbeat: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._viewers: dict[str, set[Viewer]] = {}
        self._heartbeat, self._clock = heartbeat, clock

    def join(self, room_id: str, user: str, alive: Callable[[], bool] = lambda: True) -> Viewer:
        viewer = Viewer(user, alive, next_beat=self._clock() + self._heartbeat)
        self._viewers.setdefault(room_id, set()).add(viewer)
        return viewer

    def leave(self, room_id: str, viewer: Viewer) -> None:
        viewers = self._viewers.get(room_id)
        if viewers is not None:
            viewers.discard(viewer)
            if not viewers:
                del self._viewers[room_id]

    def streams(self) -> dict[str, int]:
        """People watching each room on this gateway (what `presence.py` reports): a person with
        several streams open on one room counts once."""
        return {room_id: len({viewer.user for viewer in viewers}) for room_id, viewers in self._viewers.items()}

    def tick(self) -> int:
        """Once a second: wake the streams whose connection is gone (the viewer closed the app, or
        the kernel gave up on a dead peer) so they leave now, and those due a heartbeat. One pass
        for every stream here, instead of a timer per stream (10,000 timers cost a quarter of a
        core at rest). Returns how many were found gone."""
        reaped, now = 0, self._clock()
        for viewers in self._viewers.values():
            for viewer in viewers:
                if viewer.gone:
                    continue
                if not viewer.alive():
                    viewer.gone = True
                    viewer.wake.set()
                    reaped += 1
                elif now >= viewer.next_beat:
                    viewer.beat_due, viewer.next_beat = True, now + self._heartbeat
                    viewer.wake.set()
        return reaped

    def counts_changed(self, rooms: Iterable[RoomCounts], viewers_now: Callable[[str], int]) -> None:
        for counts in rooms:
            for viewer in self._viewers.get(counts.room_id, ()):
                viewer.push_counts(counts.viewers, viewers_now(counts.room_id), counts.likes,
                                   viewers_added=counts.viewers_added, likes_added=counts.likes_added)

    def viewers_now_changed(self, room_id: str, viewers: int, viewers_now: int, likes: int) -> None:
        for viewer in self._viewers.get(room_id, ()):
            viewer.push_counts(viewers, viewers_now, likes)

    def stream_changed(self, room: Room) -> None:
        for viewer in self._viewers.get(room.id, ()):
            viewer.push_stream(room)

    def room_closed(self, room: Room) -> None:
        for viewer in self._viewers.get(room.id, ()):
            viewer.push_closed(room)
