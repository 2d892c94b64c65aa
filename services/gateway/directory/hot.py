"""`sort=hot`: popularity now, and rankings pinned so that paging never repeats or skips.

Score of a room: `viewers_now + recent likers`: people, not taps. viewers_now is the people
watching now (distinct users with a live-update stream open, across the gateways, `presence.py`);
recent likers are the people who liked, each counted once per 10-minute window however often they
tap (`counters.FirstLikes`, and rooms counts each person's mark once), decaying exponentially with
a half-life of `HALF_LIFE_SECONDS` (10 minutes): a person who liked now weighs 1, ten minutes ago
1/2, an hour ago 1/64. So a room people are watching and liking now climbs past a room that was
popular this morning, and one account tapping at its limit counts as one person: it cannot out-rank
fifteen people who each watched and liked once.

A score moves every second, so a page cut from live scores would repeat or skip rooms as they
move between requests. Instead the first page takes the current ranking (a frozen, sorted list
of the listed rooms' entries; a new one at most every `REFRESH_SECONDS`), and its cursor names
that ranking and a position in it. Later pages walk the same ranking, skipping rooms that closed
meanwhile; rankings are kept for `KEEP_SECONDS` and an older cursor is refused with a clear 400
(start over). Rankings belong to the gateway process that made them (see docs/architecture.md).
"""

from __future__ import annotations

import math
import uuid
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat
from operator import attrgetter, itemgetter
from typing import TypeVar, cast

import numpy as np

from services.gateway.directory.entry import Entry

HALF_LIFE_SECONDS = 600.0
REFRESH_SECONDS = 5.0
KEEP_SECONDS = 300.0
_DECAY_PER_SECOND = math.log(2) / HALF_LIFE_SECONDS
T = TypeVar("T")
_PLACE = attrgetter("place")
SCORE = b',"hot_score":%.3f},'  # a room's last member and its end on a page (`listing.page_json`)


def decayed(value: float, since: float, now: float) -> float:
    """A decaying sum (`value` at time `since`), as it stands at `now`."""
    return value * math.exp(-_DECAY_PER_SECOND * (now - since)) if value else 0.0


def hot_score(viewers_now: int, recent_likers: float) -> float:
    return viewers_now + recent_likers


@dataclass(eq=False)
class Ranking:
    id: str
    made_at: float
    # The directory's entries as they were at the cut. A page reads a room's current entry by id
    # (`listed`); the Following tab keeps the ranked entries its viewer holds, by identity (a room
    # interrupted and resumed since has a new entry, and waits for the next ranking, as one that
    # went live since does). Held up to KEEP_SECONDS, so a closed room's entry may be too.
    rooms: tuple[Entry, ...]
    scores: array[float]
    # While this is the current ranking (every Following page of those seconds shows rooms from
    # it): each score as a page writes it, made on first use and dropped when a newer ranking is
    # cut (older ones, which only later pages read, do without).
    _current: bool = field(default=True, repr=False)
    _score_json: list[bytes | None] = field(default_factory=list, repr=False)  # by position

    def scores_json(self, positions: list[int]) -> Sequence[bytes]:
        """The member a page adds to each room, with the room's end (`SCORE`), by its position
        (picked in one C call once written)."""
        if not self._current:
            return [SCORE % self.scores[at] for at in positions]
        kept = self._score_json
        if not kept:
            kept.extend(repeat(None, len(self.rooms)))
        written = picked(kept, positions)
        if not all(written):  # None: not written yet (a score's bytes are never empty)
            for at in positions:
                if kept[at] is None:
                    kept[at] = SCORE % self.scores[at]
            written = picked(kept, positions)
        return cast("Sequence[bytes]", written)  # a string: `Sequence[bytes]` would be made on every call

    @property
    def is_current(self) -> bool:
        return self._current

    def positions_of(self, rooms: Iterable[Entry], start: int) -> list[int]:
        """Where each of these listed entries stands, or -1 if before `start` or not ranked. The
        newest ranking's places are on the entries (`Entry.place`, written at its cut: a room
        listed since has none), read in C from the entries a page has in hand; an older ranking
        finds them in one pass from `start`."""
        if self._current:
            places = list(map(_PLACE, rooms))
        else:
            rooms = list(rooms)
            wanted = set(rooms)
            index = {room: at for at, room in enumerate(islice(self.rooms, start, None), start) if room in wanted}
            places = list(map(index.get, rooms, repeat(-1)))
        return places if start == 0 else [at if at >= start else -1 for at in places]

    def superseded(self) -> None:
        self._current = False
        self._score_json = []


def picked(items: Sequence[T], positions: list[int]) -> Sequence[T]:
    """`[items[at] for at in positions]`, in one C call (`itemgetter` of one position answers the
    item itself, not a tuple of it)."""
    if len(positions) > 1:
        found: tuple[T, ...] = itemgetter(*positions)(items)
        return found
    return [items[at] for at in positions]


class Rankings:
    """The current ranking and the recent ones that cursors may still name."""

    def __init__(self) -> None:
        self._prefix = uuid.uuid4().hex[:8]  # this process: a cursor from another replica never matches
        self._made = 0
        self._kept: OrderedDict[str, Ranking] = OrderedDict()
        self._newest: Ranking | None = None

    def current(self, scored: Callable[[], tuple[list[Entry], list[float]]], now: float) -> Ranking:
        """The newest ranking, or a new one cut from `scored()` (listed rooms, their scores) if stale."""
        newest = self._newest
        if newest is not None and now - newest.made_at < REFRESH_SECONDS:
            return newest
        if newest is not None:
            newest.superseded()
        rooms, scores = scored()
        # A stable sort of the scores alone (C, ~1 ms for 10,000 rooms): ties keep the given order.
        order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable").tolist()
        self._made += 1
        ranked = tuple(rooms[i] for i in order)
        # Each entry's place in the newest ranking, on the entry (in C): a Following page reads
        # the places of the rooms it found from the entries in hand, not from an index.
        deque(map(setattr, ranked, repeat("place"), range(len(ranked))), maxlen=0)
        ranking = Ranking(f"{self._prefix}-{self._made}", now, ranked, array("f", (scores[i] for i in order)))
        self._kept[ranking.id] = self._newest = ranking
        self._expire(now)
        return ranking

    def get(self, ranking_id: str, now: float) -> Ranking | None:
        self._expire(now)
        return self._kept.get(ranking_id)

    def _expire(self, now: float) -> None:
        while self._kept:
            oldest = next(iter(self._kept.values()))
            if now - oldest.made_at <= KEEP_SECONDS:
                break
            self._kept.popitem(last=False)
