"""The room directory: every live room in the gateway's memory, in every order the app lists.

Fed by the rooms service's events, by the replies of the writes this gateway served
(read-your-writes), and by periodic snapshots. Every room carries a `version` that the rooms
service bumps on each change, so a duplicate, late or out-of-order message never moves a room
backwards, and a closed room (final) never comes back: closes leave a tombstone for a while.

Orders kept up to date on every change, none of them a scan:
- new:  a sorted list of (activated_at ms, id), walked from the end (newest first);
- near: an R-tree of the rooms that have a location (`geo.py`);
- hot:  scores computed from counts and decaying likes when a ranking is cut (`hot.py`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from services.gateway.directory.geo import GeoIndex
from services.gateway.directory.hot import RecentLikes, hot_score
from shared.contracts import Room, RoomCounts, RoomStatus

TOMBSTONE_SECONDS = 600.0
TOMBSTONES_MAX = 200_000


def _new_key(room: Room) -> tuple[int, str]:
    assert room.activated_at is not None, "only active rooms are listed"
    return int(room.activated_at.timestamp() * 1000), room.id


@dataclass(slots=True, eq=False)
class Entry:
    """One live room, and the JSON the gateway last rendered for it (dropped on every change)."""

    room: Room
    likes: RecentLikes = field(default_factory=RecentLikes)
    rendered: bytes | None = None
    rendered_for: int = -1  # the play-URL period `rendered` was signed in


class RoomDirectory:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._live: dict[str, Entry] = {}
        self._newest: SortedList[tuple[int, str]] = SortedList()
        self._geo = GeoIndex()
        self._closed: OrderedDict[str, tuple[Room, float]] = OrderedDict()
        self._touched: set[str] | None = None  # rooms changed by messages while a snapshot loads
        self.loaded = False  # a first snapshot has been applied
        self.changed_at = 0.0  # clock time of the last change applied (for staleness metrics)

    def __len__(self) -> int:
        return len(self._live)

    # --- reads --------------------------------------------------------------------------

    def live(self, room_id: str) -> Entry | None:
        return self._live.get(room_id)

    def closed(self, room_id: str) -> Room | None:
        tomb = self._closed.get(room_id)
        return tomb[0] if tomb else None

    def get(self, room_id: str) -> Room | None:
        """The room if the directory knows it: live, or closed recently."""
        entry = self._live.get(room_id)
        return entry.room if entry else self.closed(room_id)

    def newest(self, after: tuple[int, str] | None) -> Iterator[Entry]:
        """Live rooms by (activated_at, id) descending, starting after the cursor key."""
        end = len(self._newest) if after is None else self._newest.bisect_left(after)
        for position in range(end - 1, -1, -1):
            yield self._live[self._newest[position][1]]

    def nearest(self, origin: tuple[float, float, float], count: int) -> Iterator[tuple[float, str]]:
        return self._geo.nearest(origin, count)

    def scores(self) -> Iterator[tuple[float, str]]:
        now = self._clock()
        for room_id, entry in self._live.items():
            yield hot_score(entry.room.viewers, entry.likes.value(now)), room_id

    @property
    def located(self) -> int:
        return len(self._geo)

    # --- changes ------------------------------------------------------------------------

    def apply(self, room: Room) -> bool:
        """Take a room state (event, write reply or snapshot) unless it is older than what we hold."""
        if room.id in self._closed:
            return False  # closed is final
        entry = self._live.get(room.id)
        if entry is not None and entry.room.version >= room.version:
            return False
        if self._touched is not None:
            self._touched.add(room.id)
        if room.status is RoomStatus.CLOSED:
            self._remove(room.id)
            self._bury(room)
        elif room.status is RoomStatus.ACTIVE:
            if entry is None:
                self._add(room)
            else:
                entry.room, entry.rendered = room, None
        else:
            return False  # unactive rooms are not listed; reads of them go to the rooms service
        self.changed_at = self._clock()
        return True

    def apply_counts(self, counts: RoomCounts) -> bool:
        entry = self._live.get(counts.room_id)
        if entry is None or entry.room.version >= counts.version:
            return False
        if self._touched is not None:
            self._touched.add(counts.room_id)
        entry.room = entry.room.model_copy(update={"viewers": counts.viewers, "likes": counts.likes,
                                                   "version": counts.version})
        entry.rendered = None
        now = self._clock()
        if counts.likes_added:
            entry.likes.add(counts.likes_added, now)
        self.changed_at = now
        return True

    def begin_snapshot(self) -> None:
        self._touched = set()

    def finish_snapshot(self, rooms: list[Room]) -> int:
        """Apply a complete snapshot of the live rooms; drop the rooms it no longer lists unless a
        message touched them since the snapshot began. Returns how many were dropped."""
        touched, self._touched = self._touched or set(), None
        listed = {room.id for room in rooms}
        for room in rooms:
            self.apply(room)
        gone = [room_id for room_id in self._live if room_id not in listed and room_id not in touched]
        for room_id in gone:
            self._remove(room_id)  # its close was missed: no tombstone, its version is unknown
        self.loaded = True
        return len(gone)

    def _add(self, room: Room) -> None:
        self._live[room.id] = Entry(room)
        self._newest.add(_new_key(room))
        if room.location is not None:
            self._geo.add(room.id, room.location.lat, room.location.lng)

    def _remove(self, room_id: str) -> None:
        entry = self._live.pop(room_id, None)
        if entry is not None:
            self._newest.discard(_new_key(entry.room))
            self._geo.remove(room_id)

    def _bury(self, room: Room) -> None:
        now = self._clock()
        self._closed[room.id] = (room, now)
        while self._closed:
            _, (_, buried_at) = next(iter(self._closed.items()))
            if len(self._closed) <= TOMBSTONES_MAX and now - buried_at <= TOMBSTONE_SECONDS:
                break
            self._closed.popitem(last=False)
