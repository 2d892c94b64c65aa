"""Filtered pages of the list: one category, the anchors a viewer follows (the Following tab),
or both, in the `new` and `hot` orders, with the same cursors as the unfiltered list.

The Following tab passes the viewer's followed rooms on air, kept in the `new` order as anchors
go on and off air (`follows/on_air.py`). A `new` page reads that list backwards from the cursor:
the rooms it passes over are the viewer's own (a category's), so its cost does not grow with the
directory. A `hot` page either walks the ranking and keeps the entries the viewer holds (about
want x listed / followed steps, each a set probe by identity in C, reading no room; on the current
ranking it keeps the entries themselves and reads their places from them (the newest ranking
writes each entry's place on it), on an older one it counts places as it goes) or looks up
where each followed room stands and sorts those positions (a read of each followed room on air);
the cheaper one is taken per page: a viewer
whose follows are mostly off air (the usual case) gets a lookup of a handful, one who follows a
good share of what is live gets a short walk. A category alone walks the directory's order.
First pages of a category are kept like the list's; Following pages are the viewer's own,
rendered each time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Set
from itertools import compress, count, islice, repeat, tee
from operator import attrgetter, eq, truth
from typing import NamedTuple, Protocol, cast

from services.gateway.directory.cursors import HotCursor, NewCursor
from services.gateway.directory.entry import Entry, order_key
from services.gateway.directory.hot import Ranking, picked
from services.gateway.directory.listing import CursorExpired, RoomLister, page_json


class Followed(Protocol):
    """A viewer's followed rooms on air (`follows/on_air.py`): the directory's own entries."""

    @property
    def rooms(self) -> list[Entry]: ...  # oldest first in the `new` order

    @property
    def held(self) -> Set[Entry]: ...  # the same, by identity


class Filter(NamedTuple):  # made for every filtered page: a tuple is the cheapest to make
    category: str | None = None
    followed: Followed | None = None  # the Following tab


# Looking up where one followed room stands in the ranking (its place, its share of a sort) costs
# about this many steps of a walk (measured: `python -m bench.following_cost`).
LOOKUP_STEPS = 4
_ORDER, _CATEGORY, _ROOM_ID = attrgetter("order"), attrgetter("category"), attrgetter("room_id")


class FilteredPages:
    def __init__(self, lister: RoomLister) -> None:
        self._lister = lister
        self._directory = lister.directory

    def _walk_pays(self, followed: Followed, category: str | None, want: int) -> bool:
        """Whether walking the ranking fills a page in fewer steps than the lookup would take."""
        listed, on_air = len(self._directory.listed_rooms), len(followed.rooms)
        if category is None:
            return want * listed < LOOKUP_STEPS * on_air * on_air
        passing = on_air * self._directory.categories[category] / listed if listed else 0.0
        return want * listed < LOOKUP_STEPS * on_air * max(passing, 1.0)

    def _passing(self, ids: Iterable[str], category: str | None) -> Iterator[Entry]:
        """The rooms of `ids` that are listed (a ranking may name rooms closed or off air since
        its cut) and in the category. In order, every step in C."""
        return _in_category(filter(None, map(self._directory.listed, ids)), category)

    # --- new ----------------------------------------------------------------------------

    def newest(self, limit: int, cursor: str | None, only: Filter) -> bytes:
        if cursor is None and only.followed is None:
            return self._lister.kept(("new", limit, only.category), lambda: self._newest(limit, None, only))
        return self._newest(limit, cursor, only)

    def _newest(self, limit: int, cursor: str | None, only: Filter) -> bytes:
        after = self._lister.cursors.decode(cursor, NewCursor) if cursor else None
        start = (after.activated_ms, after.room_id) if isinstance(after, NewCursor) else None
        if only.followed is None:
            page = list(islice(self._passing(self._directory.newest_ids(start), only.category), limit + 1))
        else:  # the viewer's own rooms, newest first from the cursor on
            rooms = only.followed.rooms
            older = bisect_left(rooms, order_key(*start), key=_ORDER) if start is not None else len(rooms)
            page = list(islice(_in_category(islice(reversed(rooms), len(rooms) - older, None), only.category),
                               limit + 1))
        more, page = len(page) > limit, page[:limit]
        cursor_out = self._lister.cursors.after_new(page[-1].activated_ms, page[-1].room_id) if more else None
        return page_json(self._lister.fragments(page), cursor_out)

    # --- hot ----------------------------------------------------------------------------

    def hot(self, limit: int, cursor: str | None, only: Filter) -> bytes:
        now = self._lister.clock()
        if cursor:
            at = self._lister.cursors.decode(cursor, HotCursor)
            assert isinstance(at, HotCursor)
            ranking = self._lister.rankings.get(at.ranking, now)
            if ranking is None:
                raise CursorExpired()
            position = at.position
        else:
            ranking, position = self._lister.rankings.current(self._directory.scores, now), 0
        if only.followed is None:
            return self._lister.kept(("hot", ranking.id, position, limit, only.category),
                                        lambda: self._hot(ranking, position, limit, only))
        return self._hot(ranking, position, limit, only)

    def _hot(self, ranking: Ranking, position: int, limit: int, only: Filter) -> bytes:
        want, followed = limit + 1, only.followed
        if followed is None:
            ats, page = _listed_in_category(ranking, position, only.category, self._directory.listed, want)
        else:
            if not self._walk_pays(followed, only.category, want):  # where each followed room stands
                places = ranking.positions_of(_in_category(followed.rooms, only.category), position)
                places.sort()  # -1 first: not ranked (one live since waits for the next ranking)
                first = bisect_right(places, -1)
                ats = places[first:first + want]
                page = list(picked(ranking.rooms, ats))
            elif ranking.is_current:  # the rooms found carry their places in it
                page = list(islice(_in_category(filter(followed.held.__contains__, _ranked(ranking, position)),
                                                only.category), want))
                ats = ranking.positions_of(page, 0)
            else:
                ats = list(islice(_held_in_ranking(ranking, position, followed.held, only.category), want))
                page = list(picked(ranking.rooms, ats))
        cursor_out = None
        if len(page) > limit:  # one more than the page: the cursor is after the page's last
            del page[limit:], ats[limit:]
            cursor_out = self._lister.cursors.at_hot(ranking.id, ats[-1] + 1)
        return page_json(self._lister.fragments(page), cursor_out, ranking.scores_json(ats))


def _held_in_ranking(ranking: Ranking, position: int, held: Set[Entry], category: str | None) -> Iterator[int]:
    """The positions from `position` on of the ranked entries the viewer holds (probed by
    identity: no room is read) and in the category. Every step in C."""
    ats = compress(count(position), map(held.__contains__, _ranked(ranking, position)))
    if category is None:
        return ats
    kept, tested = tee(ats)
    return compress(kept, map(eq, map(_CATEGORY, map(ranking.rooms.__getitem__, tested)), repeat(category)))


def _ranked(ranking: Ranking, position: int) -> Iterable[Entry]:
    return islice(ranking.rooms, position, None) if position else ranking.rooms  # a first page: no islice step


def _listed_in_category(ranking: Ranking, position: int, category: str | None, listed: Callable[[str], Entry | None],
                        want: int) -> tuple[list[int], list[Entry]]:
    """The positions and current entries of up to `want` ranked rooms from `position` on that are
    still listed and in the category. Every step in C."""
    rooms, tested = tee(map(listed, map(_ROOM_ID, islice(ranking.rooms, position, None))))
    passing = (map(eq, map(getattr, tested, repeat("category"), repeat(None)), repeat(category))
               if category is not None else map(truth, tested))
    found = list(islice(compress(zip(count(position), rooms), passing), want))
    return [at for at, _ in found], cast("list[Entry]", [room for _, room in found])  # None never passes


def _in_category(rooms: Iterable[Entry], category: str | None) -> Iterator[Entry]:
    """The rooms in the category (all of them if None), in order, every step in C."""
    if category is None:
        return iter(rooms)
    kept, tested = tee(rooms)
    # `eq`, not `category.__eq__`: that answers NotImplemented (truthy) for a room without one.
    return compress(kept, map(eq, map(_CATEGORY, tested), repeat(category)))
