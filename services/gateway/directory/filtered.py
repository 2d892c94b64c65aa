"""Filtered pages of the list: one category, the anchors a viewer follows (the Following tab),
or both, in the `new` and `hot` orders, with the same cursors as the unfiltered list.

A page either walks the order it filters and keeps what passes, or looks up the rooms of the
followed anchors that are on air and sorts those. Walking is cheap when what passes is common (a
category; a viewer who follows many of the live anchors): about limit x live / passing steps.
Looking up costs one C-level set intersection (the followed anchors with the directory's listed
ones) and a sort of what is left: cheap when few followed anchors are on air, the usual case.
Which one is chosen per page from a sample of the followed anchors (the first 64 of the set:
in hash order, as good as random), so a page never walks the whole list for a viewer whose
follows are mostly off air, nor sorts thousands for one whose follows are all on. First pages of
a category are kept like the list's; Following pages are the viewer's own, rendered each time.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass
from itertools import compress, count, islice, tee

from services.gateway.directory.cursors import HotCursor, NewCursor
from services.gateway.directory.entry import Entry
from services.gateway.directory.hot import Ranking
from services.gateway.directory.listing import CursorExpired, RoomLister, page_json


@dataclass(frozen=True)
class Filter:
    category: str | None = None
    anchors: Set[str] | None = None  # the Following tab: the anchors the viewer follows

    def keep(self, entry: Entry) -> bool:
        return ((self.category is None or entry.category == self.category)
                and (self.anchors is None or entry.anchor_id in self.anchors))


SAMPLE = 64  # followed anchors looked at to choose between walking and looking up


def _key(entry: Entry) -> tuple[int, str]:
    return entry.activated_ms, entry.room_id


class FilteredPages:
    def __init__(self, lister: RoomLister) -> None:
        self._lister = lister
        self._directory = lister.directory

    def _walk_pays(self, only: Filter, want: int) -> bool:
        """Whether walking the order fills a page in fewer steps than looking up the followed
        anchors' rooms would sort: (on-air followed)^2 > want x listed rooms, estimated."""
        if only.anchors is None:
            return True
        sample = list(islice(only.anchors, SAMPLE))
        if not sample:
            return False
        listed = self._directory.listed_anchors
        on_air = len(listed.intersection(sample)) * len(only.anchors) / len(sample)
        return on_air * on_air > want * len(listed)

    @staticmethod
    def _walk(ranked: Iterable[tuple[int, str]], lookup: Callable[[str], Entry | None], only: Filter,
              want: int) -> list[tuple[int, Entry]]:
        """Up to `want` (position, entry) pairs that pass, in order. Written flat: it runs for
        every room it is given, and each attribute read or call left out of the loop counts."""
        anchors, category = only.anchors, only.category
        found: list[tuple[int, Entry]] = []
        for at, room_id in ranked:
            entry = lookup(room_id)
            if (entry is not None and entry.listed and (anchors is None or entry.anchor_id in anchors)
                    and (category is None or entry.category == category)):
                found.append((at, entry))
                if len(found) >= want:
                    break
        return found

    def _ranked(self, ranking: Ranking, position: int, only: Filter) -> Iterable[tuple[int, str]]:
        """(position, room id) from `position` on; for the Following tab only the followed
        anchors' rooms, picked in C from the ranking's anchors."""
        if only.anchors is None:
            return enumerate(islice(ranking.room_ids, position, None), position)
        owners = ranking.anchors(self._anchor_of)
        ats, at = tee(compress(count(position), map(only.anchors.__contains__, islice(owners, position, None))))
        return zip(ats, map(ranking.room_ids.__getitem__, at), strict=True)

    def _anchor_of(self, room_id: str) -> str:
        entry = self._directory.entry_of(room_id)
        return entry.anchor_id if entry is not None else ""

    def _followed(self, only: Filter, after: Callable[[Entry], bool]) -> list[Entry]:
        """The listed rooms of the followed anchors that pass (a C-level set intersection first)."""
        assert only.anchors is not None
        of_anchor, found = self._directory.of_anchor, []
        for anchor in self._directory.listed_anchors.intersection(only.anchors):
            entry = of_anchor(anchor)
            if (entry is not None and entry.listed and (only.category is None or entry.category == only.category)
                    and after(entry)):
                found.append(entry)
        return found

    # --- new ----------------------------------------------------------------------------

    def newest(self, limit: int, cursor: str | None, only: Filter) -> bytes:
        if cursor is None and only.anchors is None:
            return self._lister.kept(("new", limit, only.category), lambda: self._newest(limit, None, only))
        return self._newest(limit, cursor, only)

    def _newest(self, limit: int, cursor: str | None, only: Filter) -> bytes:
        after = self._lister.cursors.decode(cursor, NewCursor) if cursor else None
        start = (after.activated_ms, after.room_id) if isinstance(after, NewCursor) else None
        if self._walk_pays(only, limit + 1):
            ids = (self._directory.newest_ids(start) if only.anchors is None
                   else self._directory.newest_of(only.anchors, start))
            page = [entry for _, entry in self._walk(enumerate(ids), self._directory.entry_of, only, limit + 1)]
        else:
            page = heapq.nlargest(limit + 1, self._followed(only, lambda e: start is None or _key(e) < start), key=_key)
        more, page = len(page) > limit, page[:limit]
        cursor_out = self._lister.cursors.encode(NewCursor(*_key(page[-1]))) if more else None
        period = self._lister.period()
        return page_json([(self._lister.fragment(e, period), b"") for e in page], cursor_out)

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
        if self._walk_pays(only, limit + 1):
            walked = self._walk(self._ranked(ranking, position, only), self._directory.entry_of, only, limit + 1)
        else:
            positions = ((ranking.position(e.room_id), e) for e in self._followed(only, lambda e: True))
            walked = heapq.nsmallest(limit + 1, ((at, e) for at, e in positions if at is not None and at >= position),
                                     key=lambda pair: pair[0])
        more, walked = len(walked) > limit, walked[:limit]
        period = self._lister.period()
        parts = [(self._lister.fragment(e, period), b',"hot_score":%.3f' % ranking.scores[at]) for at, e in walked]
        cursor_out = self._lister.cursors.encode(HotCursor(ranking.id, walked[-1][0] + 1)) if more else None
        return page_json(parts, cursor_out)
