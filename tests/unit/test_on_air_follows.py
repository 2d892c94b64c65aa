"""The followed-rooms-on-air index (`follows/on_air.py`) against a real directory: each cached
follow set's rooms on air, in the `new` order, follow rooms going live, interrupted, resumed,
closed and replaced, follows and unfollows, reloads and evictions; and the Following tab built on
it answers what intersecting the whole follow set would, in both orders, in both ways of building
a `hot` page."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from services.gateway.directory import RoomDirectory, RoomLister
from services.gateway.directory.entry import order_key
from services.gateway.directory.filtered import FilteredPages
from services.gateway.directory.hot import REFRESH_SECONDS, picked
from services.gateway.follows.on_air import FollowedOnAir, OnAirFollows
from services.gateway.follows.sets import FollowSets
from shared.contracts import AnchorFollowed, LiveState
from tests.unit.test_directory import T0, Clock, closed, live, page_all
from tests.unit.test_filtered_lists import following


def follow_sets(lister: RoomLister, follows: dict[str, set[str]], *, max_users: int = 10,
                clock: list[float] | None = None) -> FollowSets:
    directory = lister.directory
    now = clock if clock is not None else [0.0]

    async def load(user_id: str) -> list[str]:
        return sorted(follows.get(user_id, set()))

    sets = FollowSets(load, on_air=OnAirFollows(directory.listed_anchors.entry_of), max_users=max_users,
                      clock=lambda: now[0])
    directory.listed_anchors.watchers.append(sets.on_air.room_listed)
    return sets


def anchors(followed: FollowedOnAir, directory: RoomDirectory) -> list[str]:
    """The anchors of a viewer's rooms on air, oldest room first. Checks that both views hold the
    same rooms, in order, each the directory's own listed entry (pages read them as they are)."""
    assert followed.held == set(followed.rooms) and len(followed.held) == len(followed.rooms)  # by identity
    assert [room.order for room in followed.rooms] == sorted(room.order for room in followed.rooms)
    assert all(directory.listed(room.room_id) is room for room in followed.rooms)
    return [room.anchor_id for room in followed.rooms]


async def test_the_on_air_subset_follows_the_rooms_and_the_follows(lister: RoomLister) -> None:
    directory = lister.directory
    rooms = [live(i) for i in range(6)]
    directory.finish_snapshot(rooms[:3])
    sets = follow_sets(lister, {"fan": {"a0", "a2", "a4"}})
    assert anchors(await sets.on_air_of("fan"), directory) == ["a0", "a2"]
    assert sets.on_air.followers("a0") == {"fan"} and sets.on_air.followers("a1") == set()

    directory.apply(rooms[4])  # a followed anchor goes live
    directory.apply(rooms[0].model_copy(update={"stream_state": LiveState.INTERRUPTED, "version": 3}))
    assert anchors(sets.on_air.of("fan"), directory) == ["a2", "a4"]
    directory.apply(rooms[0].model_copy(update={"version": 4}))  # resumed
    directory.apply(closed(rooms[2]))
    assert anchors(sets.on_air.of("fan"), directory) == ["a0", "a4"]  # back in its place

    sets.apply(AnchorFollowed(user_id="fan", anchor_id="a1", following=True))
    sets.apply(AnchorFollowed(user_id="fan", anchor_id="a1", following=True))  # redelivered: no change
    sets.apply(AnchorFollowed(user_id="fan", anchor_id="a4", following=False))
    assert anchors(sets.on_air.of("fan"), directory) == ["a0", "a1"] and sets.on_air.followers("a4") == set()

    # The anchor closes a room and opens another: off air in between, on air after.
    second = live(40).model_copy(update={"anchor_id": "a0", "activated_at": T0 + timedelta(seconds=9)})
    directory.apply(closed(rooms[0].model_copy(update={"version": 4})))
    assert anchors(sets.on_air.of("fan"), directory) == ["a1"]
    directory.apply(second)
    assert anchors(sets.on_air.of("fan"), directory) == ["a1", "a0"]  # the newest room
    # A newer room of a followed anchor listed before the older one's close arrived: it replaces it.
    third = live(41).model_copy(update={"anchor_id": "a1", "activated_at": T0 + timedelta(seconds=10)})
    directory.apply(third)
    assert anchors(sets.on_air.of("fan"), directory) == ["a0", "a1"]
    assert sets.on_air.of("fan").rooms[-1].room_id == third.id
    directory.apply(closed(rooms[1]))  # the older room's close: the newer one stays
    directory.apply(third.model_copy(update={"viewers": 7, "version": 3}))  # counts change in place
    assert anchors(sets.on_air.of("fan"), directory) == ["a0", "a1"]
    assert sets.on_air.of("fan").rooms[-1].viewers == 7
    # A snapshot that no longer lists a room (its close was missed) takes it off the viewer's too.
    directory.begin_snapshot()
    directory.finish_snapshot([second.model_copy(update={"version": 3})])
    assert anchors(sets.on_air.of("fan"), directory) == ["a0"]


async def test_reloads_and_evictions_leave_no_trace_in_the_index(lister: RoomLister) -> None:
    directory = lister.directory
    directory.finish_snapshot([live(i) for i in range(5)])
    follows = {f"u{n}": {f"a{n}", "a4"} for n in range(4)}
    clock = [0.0]
    sets = follow_sets(lister, follows, max_users=2, clock=clock)
    for user in ("u0", "u1", "u2"):  # u0 goes past the two kept
        await sets.on_air_of(user)
    assert sets.on_air.followers("a4") == {"u1", "u2"} and anchors(sets.on_air.of("u0"), directory) == []
    follows["u2"] = {"a3"}
    clock[0] = 601.0  # past the TTL: read again
    assert anchors(await sets.on_air_of("u2"), directory) == ["a3"]
    assert sets.on_air.followers("a4") == {"u1"} and sets.on_air.followers("a3") == {"u2"}


def test_the_order_key_orders_as_activated_ms_then_room_id() -> None:
    rng = random.Random(5)
    ids = ["r1", "r10", "r2", "ra", "r", "zz", "a" * 128, "é", "e\u0301x", "0"]
    keys = [(rng.choice([5, 6, 2**45]), rng.choice(ids)) for _ in range(300)]
    assert sorted(keys) == sorted(keys, key=lambda k: order_key(*k))


def test_lookup_and_walk_answer_alike_with_ties_and_cursors(lister: RoomLister) -> None:
    """Rooms activated in the same millisecond, a viewer on either side of the walk/lookup
    threshold: every page of both orders is the filtered order, page after page, and each room
    carries its own score."""
    rooms = [live(i).model_copy(update={"activated_at": T0 + timedelta(milliseconds=i // 3)}) for i in range(240)]
    lister.directory.finish_snapshot(rooms)
    scores = {room.id: i * 7 % 23 for i, room in enumerate(rooms)}  # with ties: each room's own is on its page
    for room_id, viewers_now in scores.items():
        lister.directory.set_viewers_now(room_id, viewers_now)
    pages = FilteredPages(lister)
    plain_hot = [r["id"] for r in page_all(lambda limit, cursor: lister.hot(limit, cursor), 50)]
    for size in (3, 12, 40, 200):
        chosen = {f"a{i}" for i in random.Random(size).sample(range(240), size)}
        expected_new = [r.id for r in sorted(rooms, key=lambda r: (r.activated_at, r.id), reverse=True)
                        if r.anchor_id in chosen]
        only = following(lister, chosen)
        got_new = page_all(lambda limit, cursor, o=only: pages.newest(limit, cursor, o), 5)
        assert [r["id"] for r in got_new] == expected_new
        got_hot = page_all(lambda limit, cursor, o=only: pages.hot(limit, cursor, o), 5)
        assert [r["id"] for r in got_hot] == [room_id for room_id in plain_hot if room_id in set(expected_new)]
        assert all(json.dumps(r).count('"hot_score"') == 1 and r["hot_score"] == scores[r["id"]] for r in got_hot)


def test_following_hot_pages_on_past_a_new_ranking(lister: RoomLister, clock: Clock) -> None:
    """Later pages read a ranking that is no longer the current one (which keeps no index of
    positions): the walk and the lookup still give the pinned order, no room twice or skipped."""
    rooms = [live(i) for i in range(120)]
    lister.directory.finish_snapshot(rooms)
    pages = FilteredPages(lister)
    pinned = [r["id"] for r in page_all(lambda limit, cursor: lister.hot(limit, cursor), 50)]
    for size in (4, 90):  # a lookup, a walk
        chosen = {f"a{i}" for i in random.Random(size).sample(range(120), size)}
        only = following(lister, chosen)

        def next_ranking() -> None:
            clock.now += REFRESH_SECONDS + 1
            lister.hot(5, None)  # a first page cuts a new ranking: the pinned one is superseded

        got = page_all(lambda limit, cursor, o=only: pages.hot(limit, cursor, o), 2 if size < 10 else 20, next_ranking)
        assert [r["id"] for r in got] == [room_id for room_id in pinned if room_id in {f"r{int(a[1:]):05d}"
                                                                                     for a in chosen}]



@pytest.mark.parametrize("size", [3, 25])  # a lookup, a walk
def test_a_room_back_on_air_waits_for_the_next_ranking_in_following_hot(lister: RoomLister, clock: Clock,
                                                                        size: int) -> None:
    """The Following tab keeps the ranked entries its viewer holds, by identity. A room interrupted
    and resumed after the cut has a new entry: it is on the tab's `new` page at once and on its
    `hot` pages from the next ranking (as a room that went live since), never twice; one closed
    since is on neither. The whole list shows the resumed room in its pinned place."""
    rooms = [live(i) for i in range(30)]
    directory = lister.directory
    directory.finish_snapshot(rooms)
    pages = FilteredPages(lister)
    pinned = [r["id"] for r in page_all(lambda limit, cursor: lister.hot(limit, cursor), 50)]
    chosen = {f"a{i}" for i in range(1, size + 1)}
    mine = [room_id for room_id in pinned if room_id in {f"r{i:05d}" for i in range(1, size + 1)}]
    directory.apply(rooms[1].model_copy(update={"stream_state": LiveState.INTERRUPTED, "version": 3}))
    directory.apply(rooms[1].model_copy(update={"version": 4}))  # back on air: a new entry
    directory.apply(closed(rooms[2]))
    only = following(lister, chosen)

    def following_hot() -> list[str]:
        return [r["id"] for r in page_all(lambda limit, cursor: pages.hot(limit, cursor, only), 2)]

    assert following_hot() == [room_id for room_id in mine if room_id not in (rooms[1].id, rooms[2].id)]
    assert rooms[1].id in [r["id"] for r in page_all(lambda limit, cursor: pages.newest(limit, cursor, only), 2)]
    assert rooms[1].id in [r["id"] for r in page_all(lambda limit, cursor: lister.hot(limit, cursor), 50)]
    clock.now += REFRESH_SECONDS + 1  # the next ranking holds its new entry
    assert sorted(following_hot()) == sorted(room_id for room_id in mine if room_id != rooms[2].id)


def test_picked_takes_items_by_position_whatever_their_count() -> None:
    items = ("a", "b", "c")
    for positions in ([], [2], [0, 2], [2, 0, 1]):
        assert list(picked(items, positions)) == [items[at] for at in positions]
