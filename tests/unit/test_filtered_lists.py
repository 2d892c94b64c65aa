"""The Following tab and the category filter on a real directory: every page is the filtered
order with no room repeated or skipped, whether the viewer follows many of the live anchors or
few, in `new` and `hot` (walked or looked up), with a category or without; `near` by category;
live counts per category follow rooms going live, interrupted, resumed and closed."""

from __future__ import annotations

import json
import random
from typing import Any

from services.gateway.directory import RoomLister
from services.gateway.directory.filtered import Filter, FilteredPages
from services.gateway.follows.on_air import FollowedOnAir
from shared.contracts import LiveState
from tests.unit.test_directory import closed, live, page_all

CATEGORIES = ["music", "games", "chat"]


def fill(lister: RoomLister, n: int) -> list[Any]:
    rooms = [live(i, category=CATEGORIES[i % 3], location=(31.2 + i / 1000, 121.4)) for i in range(n)]
    lister.directory.finish_snapshot(rooms)
    return rooms


def ids(rooms: list[dict[str, Any]]) -> list[str]:
    return [room["id"] for room in rooms]


def following(lister: RoomLister, anchors: set[str], category: str | None = None) -> Filter:
    """The Following tab's filter for a viewer following `anchors`, as the gateway passes it."""
    return Filter(category, FollowedOnAir.of(anchors, lister.directory.listed_anchors.entry_of))


def test_following_pages_are_the_followed_rooms_newest_first_dense_or_sparse(lister: RoomLister) -> None:
    rooms = fill(lister, 300)
    pages = FilteredPages(lister)
    for followed in (random.Random(1).sample(range(300), 120), [5, 150, 299], []):  # dense, sparse, none
        anchors = {f"a{i}" for i in followed} | {"a-not-live"}
        expected = [r.id for r in sorted(rooms, key=lambda r: r.activated_at, reverse=True) if r.anchor_id in anchors]
        only = following(lister, anchors)
        assert ids(page_all(lambda limit, cursor, o=only: pages.newest(limit, cursor, o), 7)) == expected
        games = following(lister, anchors, "games")
        assert ids(page_all(lambda limit, cursor, o=games: pages.newest(limit, cursor, o), 4)) \
            == [room_id for room_id in expected if int(room_id[1:]) % 3 == 1]


def test_following_and_category_together_in_hot(lister: RoomLister) -> None:
    rooms = fill(lister, 200)
    pages = FilteredPages(lister)
    plain = ids(page_all(lambda limit, cursor: lister.hot(limit, cursor), 50))  # the ranking order
    for anchors in ({f"a{i}" for i in range(0, 200, 2)}, {"a3", "a9", "a150"}):
        only = following(lister, anchors, "games")
        wanted = {r.id for r in rooms if r.anchor_id in anchors and r.category == "games"}
        got = ids(page_all(lambda limit, cursor, o=only: pages.hot(limit, cursor, o), 4))
        assert got == [room_id for room_id in plain if room_id in wanted]
        assert all('"hot_score"' in json.dumps(room) for room in page_all(
            lambda limit, cursor, o=only: pages.hot(limit, cursor, o), 4))


def test_a_category_filters_new_and_near_and_is_counted(lister: RoomLister) -> None:
    rooms = fill(lister, 90)
    lister.directory.apply(live(90))  # no category: in no category's pages
    pages = FilteredPages(lister)
    music = ids(page_all(lambda limit, cursor: pages.newest(limit, cursor, Filter("music")), 8))
    assert music == [r.id for r in reversed(rooms) if r.category == "music"]
    near = page_all(lambda limit, cursor: lister.near(31.2, 121.4, limit, cursor, "chat"), 8)
    assert sorted(ids(near)) == sorted(r.id for r in rooms if r.category == "chat")
    directory = lister.directory
    assert dict(directory.categories) == {"music": 30, "games": 30, "chat": 30}
    directory.apply(rooms[0].model_copy(update={"stream_state": LiveState.INTERRUPTED, "version": 3}))
    directory.apply(closed(rooms[1]))
    assert (directory.categories["music"], directory.categories["games"]) == (29, 29)
    directory.apply(rooms[0].model_copy(update={"version": 4}))
    assert directory.categories["music"] == 30
    assert directory.of_anchor("a0") is not None and directory.of_anchor("a1") is None


def test_a_category_alone_in_hot_is_the_ranking_filtered_past_rooms_gone_since(lister: RoomLister) -> None:
    """A category's `hot` pages walk the pinned ranking and show each room's current entry: a
    room interrupted since is skipped, one resumed since shows in its pinned place (as in the
    whole list), one closed since is gone."""
    rooms = fill(lister, 90)
    lister.directory.apply(live(90))  # no category: in no category's pages
    pages = FilteredPages(lister)
    plain = ids(page_all(lambda limit, cursor: lister.hot(limit, cursor), 50))
    directory = lister.directory
    directory.apply(rooms[0].model_copy(update={"stream_state": LiveState.INTERRUPTED, "version": 3}))
    directory.apply(rooms[0].model_copy(update={"version": 4}))  # resumed: a new entry
    directory.apply(rooms[3].model_copy(update={"stream_state": LiveState.INTERRUPTED, "version": 3}))
    directory.apply(closed(rooms[6]))
    got = page_all(lambda limit, cursor: pages.hot(limit, cursor, Filter("music")), 4)
    gone = ("r00003", "r00006", "r00090")
    assert ids(got) == [room_id for room_id in plain if int(room_id[1:]) % 3 == 0 and room_id not in gone]
    assert all(room["category"] == "music" and "hot_score" in room for room in got)
