"""The room directory: every live room in the gateway's memory, in every order the app lists.

Fed by the rooms service's events, by the replies of the writes this gateway served
(read-your-writes), and by periodic snapshots. Every room carries a `version` that the rooms
service bumps on each change, so a duplicate, late or out-of-order message never moves a room
backwards, and a closed room (final) never comes back: closes leave a tombstone for a while.

Orders kept up to date on every change, none of them a scan:
- new:  a sorted list of (activated_at ms, id), walked from the end (newest first);
- near: a k-d tree of the rooms that have a location (`geo.py`);
- hot:  scores computed from counts and decaying likes when a ranking is cut (`hot.py`).
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping

from sortedcontainers import SortedList

from services.gateway.directory.anchors import ListedAnchors
from services.gateway.directory.entry import Entry, listed, new_key
from services.gateway.directory.geo import GeoIndex
from services.gateway.directory.hot import decayed, hot_score
from services.gateway.directory.tombstones import Tombstones
from services.gateway.directory.walk import NewestLists
from shared.contracts import Room, RoomCounts, RoomStatus

# Entries live long: every this many new ones, everything alive is moved out of the collector's
# reach (gc.freeze, as after each snapshot), so full collections stay short as the list grows.
FREEZE_EVERY = 1000


class RoomDirectory:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._live: dict[str, Entry] = {}
        self.entry_of: Callable[[str], Entry | None] = self._live.get  # `live`, as a C call for the walks
        self._listed: dict[str, Entry] = {}  # the live rooms on air: what the lists show
        self.listed_rooms: Mapping[str, Entry] = self._listed  # read-only to the rest (len() in C)
        # An active room whose push is on air, or None: a C call, for the walks.
        self.listed: Callable[[str], Entry | None] = self._listed.get
        self._newest: SortedList[tuple[int, str]] = SortedList()  # (activated_at ms, room id)
        self._newest_lists = NewestLists(self._newest)  # the same order as plain lists, for the walks
        self._geo = GeoIndex(clock=clock)
        self._streams: dict[str, str] = {}  # stream id -> room id, of the active rooms
        self._anchors: dict[str, str] = {}  # anchor id -> room id, of the active rooms (one per anchor)
        self.listed_anchors = ListedAnchors()  # the anchors whose room is listed (the Following tab)
        self.categories: Counter[str] = Counter()  # listed rooms per category
        self._closed = Tombstones(clock=clock)
        self._touched: set[str] | None = None  # rooms changed by messages while a snapshot loads
        self.loaded = False  # a first snapshot has been applied
        self.changed_at = 0.0  # clock time of the last change applied (for staleness metrics)
        self.generation = 0  # bumped by every change: pages rendered for an older one are stale
        self._added = 0

    def __len__(self) -> int:
        return len(self._live)

    # --- reads --------------------------------------------------------------------------

    def live(self, room_id: str) -> Entry | None:
        """An active room, listed or held while its push is interrupted."""
        return self._live.get(room_id)

    def by_stream(self, stream_id: str) -> Entry | None:
        room_id = self._streams.get(stream_id)
        return self._live.get(room_id) if room_id is not None else None

    def of_anchor(self, anchor_id: str) -> Entry | None:
        """The anchor's active room (listed or interrupted), if this directory holds one."""
        room_id = self._anchors.get(anchor_id)
        return self._live.get(room_id) if room_id is not None else None

    def closed_stream(self, stream_id: str) -> bool:
        """True for the stream of a room this directory saw close (in the last `TOMBSTONE_SECONDS`)."""
        return self._closed.has_stream(stream_id)

    def closed(self, room_id: str) -> bool:
        """True for a room this directory saw close (in the last `TOMBSTONE_SECONDS`)."""
        return room_id in self._closed

    def get(self, room_id: str) -> Room | None:
        """The room if it is live (a closed or unactive room is read from the rooms service)."""
        entry = self._live.get(room_id)
        return entry.room() if entry else None

    def newest(self, after: tuple[int, str] | None) -> Iterator[Entry]:
        """Live rooms by (activated_at, id) descending, starting after the cursor key."""
        for _, room_id in self._newest.irange(maximum=after, inclusive=(True, False), reverse=True):
            yield self._live[room_id]

    def newest_ids(self, after: tuple[int, str] | None) -> Iterator[str]:
        """The ids of `newest`, as a C iterator (`walk.py`)."""
        return self._newest_lists.ids(after)

    def nearest(self, origin: tuple[float, float, float], count: int) -> list[tuple[float, str]]:
        return self._geo.nearest(origin, count)

    def scores(self) -> tuple[list[Entry], list[float]]:
        """Every listed room's hot score now, newest first (so equal scores rank newer rooms first)."""
        now = self._clock()
        rooms: list[Entry] = []
        scores: list[float] = []
        for entry in reversed(self._live.values()):
            if not entry.listed:
                continue
            rooms.append(entry)
            scores.append(hot_score(entry.viewers_now, decayed(entry.recent_likers, entry.recent_at, now)))
        return rooms, scores

    @property
    def located(self) -> int:
        return len(self._geo)

    # --- changes ------------------------------------------------------------------------

    def apply(self, room: Room) -> bool:
        """Take a room state (event, write reply or snapshot) unless it is older than what we hold."""
        if room.id in self._closed:
            return False  # closed is final
        entry = self._live.get(room.id)
        if entry is not None and entry.version >= room.version:
            return False
        if self._touched is not None:
            self._touched.add(room.id)
        if room.status is RoomStatus.CLOSED:
            self._remove(room.id)
            self._closed.bury(room.id, room.stream_id)
        elif room.status is RoomStatus.ACTIVE:
            if entry is None:
                self._add(room)
            elif entry.listed != listed(room):
                self._restate(entry, room)  # interrupted, or resumed: out of the orders, or back in place
            else:  # a newer state of a live room: its counts (title, cover and place never change)
                entry.set_counts(room.version, room.viewers, room.likes)
        else:
            return False  # unactive rooms are not listed; reads of them go to the rooms service
        self._changed()
        return True

    def set_viewers_now(self, room_id: str, viewers_now: int) -> bool:
        entry = self._live.get(room_id)
        if entry is None or entry.viewers_now == viewers_now:
            return False
        entry.set_viewers_now(viewers_now)
        self._changed()
        return True

    def apply_counts(self, counts: RoomCounts) -> bool:
        entry = self._live.get(counts.room_id)
        if entry is None or entry.version >= counts.version:
            return False
        if self._touched is not None:
            self._touched.add(counts.room_id)
        entry.set_counts(counts.version, counts.viewers, counts.likes)
        if counts.likers_added:
            now = self._clock()
            entry.recent_likers = decayed(entry.recent_likers, entry.recent_at, now) + counts.likers_added
            entry.recent_at = now
        self._changed()
        return True

    def _changed(self) -> None:
        self.generation += 1
        self.changed_at = self._clock()

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
        if gone:
            self._changed()
        self.loaded = True
        return len(gone)

    def _add(self, room: Room) -> None:
        self._added += 1
        if self._added % FREEZE_EVERY == 0:
            gc.freeze()  # O(1): keeps full collections from walking the long-lived entries
        entry = self._live[room.id] = Entry.of(room)
        self._streams[room.stream_id] = room.id
        self._anchors[room.anchor_id] = room.id
        if entry.listed:
            self._order(room, entry)

    def _order(self, room: Room, entry: Entry) -> None:
        self._newest.add(new_key(room))
        self._newest_lists.changed()
        self._listed[entry.room_id] = entry
        self.listed_anchors.listed(entry)
        if room.category is not None:
            self.categories[room.category] += 1
        if room.location is not None:
            self._geo.add(room.id, room.location.lat, room.location.lng)

    def _unorder(self, entry: Entry) -> None:
        key = (entry.activated_ms, entry.room_id)
        if key in self._newest and entry.category is not None:
            self.categories[entry.category] -= 1
        self._newest.discard(key)
        self._newest_lists.changed()
        self._listed.pop(entry.room_id, None)
        self.listed_anchors.unlisted(entry)
        self._geo.remove(entry.room_id)

    def _restate(self, was: Entry, room: Room) -> None:
        entry = self._live[room.id] = Entry.of(room, was)  # same key: keeps its place among the newest
        if entry.listed:
            self._order(room, entry)
        else:
            self._unorder(was)

    def _remove(self, room_id: str) -> None:
        entry = self._live.pop(room_id, None)
        if entry is not None:
            self._streams.pop(entry.stream_id, None)
            if self._anchors.get(entry.anchor_id) == room_id:
                del self._anchors[entry.anchor_id]
            self._unorder(entry)
