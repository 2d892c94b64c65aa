"""Each viewer's follow set, cached: the Following tab filters the directory with it on every
page, so it is read from the rooms service once (up to `ONAIR_MAX_FOLLOWING` ids in one page) and
then kept current by `anchor.followed` events, which every gateway follows. Bounded: the least
recently used sets go past `max_users`, and a set is read again after `ttl` (an event lost while
this gateway was cut off from the broker heals then). Every set held here is also in `on_air`
(the rooms of its anchors that are live now: the Following tab's pages start from them)."""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Set
from typing import Protocol

from services.gateway.follows.on_air import FollowedOnAir, OnAirFollows
from shared.contracts import AnchorFollowed, FollowingPage

Load = Callable[[str], Awaitable[list[str]]]


class FollowSets:
    def __init__(self, load: Load, *, on_air: OnAirFollows | None = None, max_users: int = 100_000,
                 ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._load, self._max, self._ttl, self._clock = load, max_users, ttl, clock
        self._sets: OrderedDict[str, tuple[set[str], float]] = OrderedDict()
        self.on_air = on_air if on_air is not None else OnAirFollows(lambda _: None)

    def __len__(self) -> int:
        return len(self._sets)

    async def of(self, user_id: str) -> Set[str]:
        held = self._sets.get(user_id)
        if held is not None and self._clock() - held[1] < self._ttl:
            self._sets.move_to_end(user_id)
            return held[0]
        loaded_at = self._clock()
        anchors = set(map(sys.intern, await self._load(user_id)))  # as the directory's (`entry.py`)
        if (during := self._sets.get(user_id)) is not None and during[1] > loaded_at:
            return during[0]  # loaded meanwhile by another request
        if during is not None:  # expired: read again
            self.on_air.drop_user(user_id, during[0])
        self._sets[user_id] = (anchors, loaded_at)
        self._sets.move_to_end(user_id)
        self.on_air.add_user(user_id, anchors)
        while len(self._sets) > self._max:
            evicted, (its_anchors, _) = self._sets.popitem(last=False)
            self.on_air.drop_user(evicted, its_anchors)
        return anchors

    async def on_air_of(self, user_id: str) -> FollowedOnAir:
        """The listed rooms of the anchors the user follows (their set loaded if need be)."""
        await self.of(user_id)
        return self.on_air.of(user_id)

    def on_air_if_held(self, user_id: str) -> FollowedOnAir | None:
        """`on_air_of` without a coroutine when the user's set is held and fresh (the usual case:
        the Following tab asks on every page); None when it must be loaded."""
        held = self._sets.get(user_id)
        if held is None or self._clock() - held[1] >= self._ttl:
            return None
        self._sets.move_to_end(user_id)
        return self.on_air.of(user_id)

    def apply(self, event: AnchorFollowed) -> None:
        """A follow or unfollow from any gateway: applied to the set if this gateway holds it."""
        held = self._sets.get(event.user_id)
        if held is None:
            return
        anchors, anchor_id = held[0], sys.intern(event.anchor_id)
        if event.following and anchor_id not in anchors:
            anchors.add(anchor_id)
            self.on_air.follow(event.user_id, anchor_id)
        elif not event.following and anchor_id in anchors:
            anchors.discard(anchor_id)
            self.on_air.unfollow(event.user_id, anchor_id)


class FollowingReader(Protocol):
    async def following(self, user_id: str, *, limit: int, after: str | None,
                        correlation_id: str | None = None) -> FollowingPage: ...


async def all_followed(follows: FollowingReader, user_id: str) -> list[str]:
    """Every anchor a user follows (one page up to `ONAIR_MAX_FOLLOWING`: 5,000 by default)."""
    anchors: list[str] = []
    after = None
    while True:
        page = await follows.following(user_id, limit=5000, after=after)
        anchors += page.anchor_ids
        if not page.more or not page.anchor_ids:
            return anchors
        after = page.anchor_ids[-1]
