"""Which followed anchors are on air, for each cached follow set, kept as things change.

The Following tab shows the listed rooms of the anchors a viewer follows. Working that out on
every page costs a probe per followed anchor (2,000 follows: 2,000 probes, although typically a
handful are live) or a walk of the whole list. Instead each cached follow set carries its rooms
on air now, already in the `new` order, and a reverse index (anchor -> the cached users who
follow it) keeps them current when an anchor goes on or off air: the write does the work once
per (change, cached follower) and every page of the tab starts from the answer. A `new` page is
a slice of the viewer's own list, whatever the size of the directory. The same reverse index
tells the go-live alert which connected users follow the anchor, without looking at every open
stream.

Costs: a set slot per follow in the reverse index, and per followed room on air a list slot and
a set slot (stated in the README beside the follow set's own). On each on/off-air change, one
sorted insert or delete per cached follower of that anchor (a room going live is the newest, so
its insert is an append): about 1.5 µs a follower, so an anchor with 100,000 followers cached
here holds the event loop about 150 ms, on a change that happens a few times a day.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Set
from operator import attrgetter

from services.gateway.directory.entry import Entry

_ORDER = attrgetter("order")
_NONE: frozenset[str] = frozenset()
EntryOf = Callable[[str], Entry | None]  # an anchor's listed room (`ListedAnchors.entry_of`)


class FollowedOnAir:
    """One viewer's followed anchors on air: their rooms oldest first in the `new` order (a page
    reads it backwards), and as a set (the `hot` walk probes each ranked room against it). Both
    hold the directory's own entries, and the set goes by identity (an entry hashes by its
    address, so a probe reads no room): a listed room's entry changes only in place (its counts)
    until it leaves the lists, and then it leaves here too (`room_listed`)."""

    __slots__ = ("held", "rooms")

    def __init__(self, rooms: Iterable[Entry] = ()) -> None:
        self.rooms: list[Entry] = sorted(rooms, key=_ORDER)
        self.held: set[Entry] = set(self.rooms)

    @classmethod
    def of(cls, anchors: Iterable[str], entry_of: EntryOf) -> FollowedOnAir:
        """The listed rooms of `anchors`."""
        return cls(filter(None, map(entry_of, anchors)))

    def came(self, entry: Entry) -> None:
        if entry not in self.held:
            self.held.add(entry)
            rooms = self.rooms
            if not rooms or rooms[-1].order < entry.order:
                rooms.append(entry)  # a room that just went live is the newest
            else:
                insort(rooms, entry, key=_ORDER)

    def went(self, entry: Entry) -> None:
        if entry in self.held:
            self.held.remove(entry)
            rooms = self.rooms
            at = bisect_left(rooms, entry.order, key=_ORDER)
            if at == len(rooms) or rooms[at] is not entry:  # not where its order says
                at = next(i for i, held in enumerate(rooms) if held is entry)
            del rooms[at]


class OnAirFollows:
    def __init__(self, entry_of: EntryOf) -> None:
        self._entry_of = entry_of  # the directory's listed room of an anchor (`ListedAnchors`), kept by it
        self._followers: dict[str, set[str]] = {}  # anchor -> cached users following it
        self._on_air: dict[str, FollowedOnAir] = {}  # cached user -> the listed rooms of the anchors they follow

    def of(self, user_id: str) -> FollowedOnAir:
        """The rooms on air of the anchors `user_id` follows (none unless their set is cached)."""
        held = self._on_air.get(user_id)
        return held if held is not None else FollowedOnAir()

    def followers(self, anchor_id: str) -> Set[str]:
        """The users following `anchor_id` whose follow set this gateway holds."""
        return self._followers.get(anchor_id, _NONE)

    def add_user(self, user_id: str, anchors: Iterable[str]) -> None:
        followers = self._followers
        for anchor in anchors:
            held = followers.get(anchor)
            if held is None:
                followers[anchor] = {user_id}
            else:
                held.add(user_id)
        self._on_air[user_id] = FollowedOnAir.of(anchors, self._entry_of)

    def drop_user(self, user_id: str, anchors: Iterable[str]) -> None:
        for anchor in anchors:
            self._unlink(anchor, user_id)
        self._on_air.pop(user_id, None)

    def follow(self, user_id: str, anchor_id: str) -> None:
        self._followers.setdefault(anchor_id, set()).add(user_id)
        if (entry := self._entry_of(anchor_id)) is not None:
            self._on_air[user_id].came(entry)

    def unfollow(self, user_id: str, anchor_id: str) -> None:
        self._unlink(anchor_id, user_id)
        if (entry := self._entry_of(anchor_id)) is not None:
            self._on_air[user_id].went(entry)

    def room_listed(self, was: Entry | None, now: Entry | None) -> None:
        """The directory listed an anchor's room (`now`), stopped listing it (`was`), or both:
        the anchor opened a room before the close of the last one arrived."""
        room = now or was
        assert room is not None
        for followed in map(self._on_air.__getitem__, self._followers.get(room.anchor_id, ())):
            if was is not None:
                followed.went(was)
            if now is not None:
                followed.came(now)

    def _unlink(self, anchor_id: str, user_id: str) -> None:
        held = self._followers.get(anchor_id)
        if held is not None:
            held.discard(user_id)
            if not held:
                del self._followers[anchor_id]
