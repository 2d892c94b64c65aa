"""Pages of the room list, as response bytes, in the three orders the app shows.

A room's JSON is its fixed part (kept ready by the directory), its counts, and its play URLs.
Play URLs are signed for the start of the current period (`URL_PERIOD_SECONDS`) plus their TTL
and kept per room for the period: every viewer in the same minute gets the same URLs, still
valid for at least TTL minus one period. First pages (what every viewer opening the app asks
for) are kept until the directory or the period changes.

`near` places the viewer at the nearest point of a 0.01-degree grid (at most about 0.8 km from
where they are, much less than a phone's fix indoors): every viewer in the same cell shares one
page, so the first page of a cell is rendered once, as `new` and `hot` are, and a cursor stays
good while the phone moves within its cell. Distances are from that point.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import attrgetter

from services.gateway.directory.cursors import CursorCodec, HotCursor, NearCursor, NewCursor
from services.gateway.directory.directory import RoomDirectory
from services.gateway.directory.entry import Entry
from services.gateway.directory.geo import unit_vector
from services.gateway.directory.hot import Ranking, Rankings
from services.gateway.http.answers import room_view
from shared.contracts import ErrorCode, Room, RoomStatus
from shared.errors import DomainError
from shared.signing import UrlSigner

URL_PERIOD_SECONDS = 60
_PERIOD, _JSON = attrgetter("period"), attrgetter("json")
PAGES_KEPT = 256  # first pages kept (per order, limit and hot ranking) until the next change
NEAR_PAGES_KEPT = 1024  # first `near` pages kept, one per grid cell and limit (~18 KB each)
NEAR_GRID_DIGITS = 2  # viewers are placed on a 0.01-degree grid
# `near` pages through the nearest rooms up to this many (50 pages of 20): a page at depth d costs a
# k-nearest query of d rooms, so a deeper list would let one cursor cost milliseconds a request.
NEAR_DEPTH = 1000


class CursorExpired(DomainError):
    """A `hot` cursor names a ranking this process no longer keeps (or never made): the client
    loads the first page again."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.INVALID, "the ranking this cursor belongs to is gone: load the first page again",
                         field="cursor")


class RoomLister:
    def __init__(self, directory: RoomDirectory, signer: UrlSigner, cursors: CursorCodec, *,
                 wall_clock: Callable[[], float] = time.time, clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self._signer = signer
        self.cursors = cursors
        self._wall_clock, self.clock = wall_clock, clock
        self.rankings = Rankings()
        self._pages: dict[tuple[object, ...], bytes] = {}
        self._near_pages: dict[tuple[object, ...], bytes] = {}
        self._pages_stamp: tuple[int, int] = (-1, -1)

    def fragment(self, entry: Entry, period: int | None = None) -> bytes:
        """The room's JSON without its closing brace (a list may add a member before it)."""
        if period is None:
            period = self.period()
        if entry.period != period:
            signed_at = datetime.fromtimestamp(period * URL_PERIOD_SECONDS, UTC)
            urls = self._signer.play_urls(entry.stream_id, now=signed_at)
            entry.set_play_urls(json.dumps(urls, separators=(",", ":")).encode(), period)
        return entry.json

    def fragments(self, entries: list[Entry]) -> list[bytes]:
        """`fragment` of each, in C when every URL is signed for this period (nearly always)."""
        period = self.period()
        if entries and min(map(_PERIOD, entries)) != period:  # periods only grow: all current if the least is
            return [self.fragment(entry, period) for entry in entries]
        return list(map(_JSON, entries))

    def period(self) -> int:
        return int(self._wall_clock()) // URL_PERIOD_SECONDS

    def room(self, room: Room) -> bytes:
        """One room's JSON: a live one as listed, any other as it is."""
        entry = self.directory.live(room.id)
        if entry is not None and entry.version == room.version:
            return self.fragment(entry) + b"}"
        # Not live (or older than what this gateway holds): play URLs only while it is active.
        urls = self._signer.play_urls(room.stream_id) if room.status is RoomStatus.ACTIVE else None
        return room_view(room, urls).model_dump_json().encode()

    def kept(self, key: tuple[object, ...], render: Callable[[], bytes]) -> bytes:
        stamp = (self.directory.generation, self.period())
        if stamp != self._pages_stamp:
            self._pages.clear()
            self._near_pages.clear()
            self._pages_stamp = stamp
        pages, kept = (self._near_pages, NEAR_PAGES_KEPT) if key[0] == "near" else (self._pages, PAGES_KEPT)
        page = pages.get(key)
        if page is None:
            if len(pages) >= kept:
                pages.pop(next(iter(pages)))  # the oldest
            page = pages[key] = render()
        return page

    # --- the three orders ---------------------------------------------------------------

    def newest(self, limit: int, cursor: str | None) -> bytes:
        if cursor is None:
            return self.kept(("new", limit), lambda: self._newest(limit, None))
        return self._newest(limit, cursor)

    def _newest(self, limit: int, cursor: str | None) -> bytes:
        after = self.cursors.decode(cursor, NewCursor) if cursor else None
        entries = self.directory.newest((after.activated_ms, after.room_id) if isinstance(after, NewCursor) else None)
        page: list[Entry] = []
        for entry in entries:
            page.append(entry)
            if len(page) > limit:
                break
        more = len(page) > limit
        page = page[:limit]
        return page_json(self.fragments(page), self.cursors.after_new(page[-1].activated_ms, page[-1].room_id)
                         if more else None)

    def hot(self, limit: int, cursor: str | None) -> bytes:
        now = self.clock()
        if cursor:
            at = self.cursors.decode(cursor, HotCursor)
            assert isinstance(at, HotCursor)
            ranking = self.rankings.get(at.ranking, now)
            if ranking is None:
                raise CursorExpired()
            position = at.position
        else:
            ranking, position = self.rankings.current(self.directory.scores, now), 0
        return self.kept(("hot", ranking.id, position, limit), lambda: self._hot(ranking, position, limit))

    def _hot(self, ranking: Ranking, position: int, limit: int) -> bytes:
        page: list[Entry] = []
        positions: list[int] = []
        while position < len(ranking.rooms) and len(page) < limit:
            entry = self.directory.listed(ranking.rooms[position].room_id)
            if entry is not None:  # closed or interrupted since the ranking was cut: skipped
                page.append(entry)
                positions.append(position)
            position += 1
        more = position < len(ranking.rooms)
        return page_json(self.fragments(page), self.cursors.at_hot(ranking.id, position) if more else None,
                         ranking.scores_json(positions))

    def near(self, lat: float, lng: float, limit: int, cursor: str | None, category: str | None = None) -> bytes:
        lat, lng = round(lat, NEAR_GRID_DIGITS), round(lng, NEAR_GRID_DIGITS)
        if cursor is None:
            return self.kept(("near", lat, lng, limit, category),
                                lambda: self._near(lat, lng, limit, None, category))
        at = self.cursors.decode(cursor, NearCursor)
        assert isinstance(at, NearCursor)
        if (at.lat, at.lng) != (lat, lng):
            raise DomainError(ErrorCode.INVALID, "this cursor was made for other coordinates", field="cursor")
        return self._near(lat, lng, limit, (at.km, at.room_id), category)

    def _near(self, lat: float, lng: float, limit: int, after: tuple[float, str] | None,
              category: str | None = None) -> bytes:
        origin = unit_vector(lat, lng)
        # Ask the k-d tree for enough rooms to get past the cursor (rarely more than once), never
        # for more than NEAR_DEPTH: past that depth the list ends.
        want = min(limit + 1, NEAR_DEPTH)
        while True:
            found = self.directory.nearest(origin, want)
            past = found if after is None else [pair for pair in found if pair > after]
            if category is not None:
                past = [pair for pair in past if self._of_category(pair[1], category)]
            if len(past) > limit or len(found) < want or want >= NEAR_DEPTH:
                break
            want = min(want * 4, NEAR_DEPTH)
        page = past[:limit]
        listed = self.directory.listed
        rooms, distances = [], []
        for km, room_id in page:  # one pass: this runs for every room of every near page
            entry = listed(room_id)
            if entry is not None:
                rooms.append(entry)
                distances.append(b',"distance_km":%.3f},' % km)
        next_cursor = NearCursor(lat, lng, *page[-1]) if len(past) > limit else None
        return page_json(self.fragments(rooms), self.cursors.encode(next_cursor) if next_cursor else None, distances)


    def _of_category(self, room_id: str, category: str) -> bool:
        entry = self.directory.listed(room_id)
        return entry is not None and entry.category == category


def page_json(rooms: list[bytes], next_cursor: str | None, extras: Sequence[bytes] | None = None) -> bytes:
    """The page's JSON from each room's JSON without its closing brace, in one C-level join (this
    runs for every page not kept ready). `extras`, if given, end each room: a member, then `},`."""
    tail = b'],"next_cursor":null}' if next_cursor is None else b'],"next_cursor":"%s"}' % next_cursor.encode()
    if not rooms:
        return b'{"rooms":[' + tail
    if extras is None:
        return b"".join((b'{"rooms":[', b"},".join(rooms), b"}", tail))
    pieces = [b""] * (2 * len(rooms) + 2)  # head, then (room, extra) for each, then tail
    pieces[0], pieces[1:-1:2], pieces[2:-1:2], pieces[-1] = b'{"rooms":[', rooms, extras, tail
    pieces[-2] = pieces[-2][:-1]  # the last room ends with no comma
    return b"".join(pieces)
