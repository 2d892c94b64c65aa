"""Filtered pages of the list: one category, the anchors a viewer follows (the Following tab),
or both, in the `new` and `hot` orders, with the same cursors as the unfiltered list.

A page either walks the order it filters and keeps what passes, or looks up the rooms of the
followed anchors and picks the page's best. The Following tab passes the followed anchors that
are on air now (`follows/on_air.py` keeps them as anchors go on and off air), so what either
way costs is known before it starts: a walk takes about want x listed / passing steps (each in
C: the anchor test and the order ride in lockstep iterators), a lookup one dict read per
followed anchor on air and a partial sort. The cheaper one is taken per page: a viewer whose
follows are mostly off air (the usual case) gets a lookup of a handful, one who follows a good
share of what is live gets a short walk. First pages of a category are kept like the list's;
Following pages are the viewer's own, rendered each time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Set
from itertools import compress, islice, tee
from operator import attrgetter
from typing import NamedTuple, cast

from services.gateway.directory.cursors import HotCursor, NewCursor
from services.gateway.directory.entry import Entry, order_key
from services.gateway.directory.hot import Ranking
from services.gateway.directory.listing import CursorExpired, RoomLister, page_json


class Filter(NamedTuple):  # made for every filtered page: a tuple is the cheapest to make
    category: str | None = None
    # The Following tab: the anchors the viewer follows (those on air are enough, and cheaper).
    anchors: Set[str] | None = None


# Looking up one followed anchor's room (a dict read, its share of a sort) costs about this many
# steps of a walk (measured: `python -m bench.following_cost`).
LOOKUP_STEPS = 4
_ORDER, _CATEGORY, _ROOM_ID = attrgetter("order"), attrgetter("category"), attrgetter("room_id")


class FilteredPages:
    def __init__(self, lister: RoomLister) -> None:
        self._lister = lister
        self._directory = lister.directory

    def _walk_pays(self, only: Filter, want: int) -> bool:
        """Whether walking the order fills a page in fewer steps than the lookup would take."""
        if only.anchors is None:
            return True
        listed = len(self._directory.listed_rooms)
        passing = float(len(only.anchors))
        if only.category is not None and listed:
            passing *= self._directory.categories[only.category] / listed
        return want * listed < LOOKUP_STEPS * len(only.anchors) * max(passing, 1.0)

    def _passing(self, ids: Iterator[str], only: Filter) -> Iterator[Entry]:
        """The rooms of `ids` that are listed and in the category, in order, every step in C (the
        anchors were tested before; a ranking may name rooms closed or off air since its cut)."""
        entries: Iterator[Entry] = filter(None, map(self._directory.listed, ids))
        if only.category is None:
            return entries
        kept, tested = tee(entries)
        return compress(kept, map(only.category.__eq__, map(_CATEGORY, tested)))

    def _ranked(self, ranking: Ranking, position: int, only: Filter, want: int) -> tuple[list[int], list[Entry]]:
        """The positions and rooms of up to `want` rooms of the ranking from `position` on that
        are listed and pass. For the Following tab only the followed anchors' rooms, picked in C
        beside the ranking's anchors."""
        ids: Iterator[str] = islice(ranking.room_ids, position, None)
        if only.anchors is not None:
            owners = islice(ranking.anchors(self._anchor_of), position, None)
            ids = compress(ids, map(only.anchors.__contains__, owners))
        page = list(islice(self._passing(ids, only), want))
        return ranking.positions_in_order(list(map(_ROOM_ID, page)), position), page

    def _anchor_of(self, room_id: str) -> str:
        entry = self._directory.entry_of(room_id)
        return entry.anchor_id if entry is not None else ""

    def _followed(self, only: Filter) -> list[Entry]:
        """The followed anchors' listed rooms that pass, in no order (every step in C)."""
        assert only.anchors is not None
        entries = list(filter(None, map(self._directory.listed_anchors.entry_of, only.anchors)))
        if only.category is None:
            return entries
        return list(compress(entries, map(only.category.__eq__, map(_CATEGORY, entries))))

    # --- new ----------------------------------------------------------------------------

    def newest(self, limit: int, cursor: str | None, only: Filter) -> bytes:
        if cursor is None and only.anchors is None:
            return self._lister.kept(("new", limit, only.category), lambda: self._newest(limit, None, only))
        return self._newest(limit, cursor, only)

    def _newest(self, limit: int, cursor: str | None, only: Filter) -> bytes:
        after = self._lister.cursors.decode(cursor, NewCursor) if cursor else None
        start = (after.activated_ms, after.room_id) if isinstance(after, NewCursor) else None
        want = limit + 1
        if self._walk_pays(only, want):
            ids = (self._directory.newest_ids(start) if only.anchors is None
                   else self._directory.newest_of(only.anchors, start))
            page = list(islice(self._passing(ids, only), want))
        else:
            page = self._followed(only)
            if start is not None:
                bound = order_key(*start)
                page = list(compress(page, map(bound.__gt__, map(_ORDER, page))))
            page.sort(key=_ORDER, reverse=True)
        more, page = len(page) > limit, page[:limit]
        cursor_out = self._lister.cursors.encode(NewCursor(page[-1].activated_ms, page[-1].room_id)) if more else None
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
        if only.anchors is None:
            return self._lister.kept(("hot", ranking.id, position, limit, only.category),
                                        lambda: self._hot(ranking, position, limit, only))
        return self._hot(ranking, position, limit, only)

    def _hot(self, ranking: Ranking, position: int, limit: int, only: Filter) -> bytes:
        want = limit + 1
        if self._walk_pays(only, want):
            ats, page = self._ranked(ranking, position, only, want)
        else:  # the followed rooms where the ranking has them (one that went live since waits for the next)
            entries = self._followed(only)
            # Positions alone sorted (ints, in C), then the page's rooms read back from them (each
            # is one of the listed rooms just found).
            places = sorted(ranking.positions_of(list(map(_ROOM_ID, entries)), position))
            ats = places[bisect_right(places, -1):][:want]
            page = cast(list[Entry], list(map(self._directory.listed, map(ranking.room_ids.__getitem__, ats))))
        more, page, ats = len(page) > limit, page[:limit], ats[:limit]
        cursor_out = self._lister.cursors.encode(HotCursor(ranking.id, ats[-1] + 1)) if more else None
        return page_json(self._lister.fragments(page), cursor_out, ranking.scores_json(ats))
