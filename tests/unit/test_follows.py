"""The follow rules and the go-live fan-out on in-memory stores: follows are idempotent both
ways and bounded; an anchor going live is announced once, then every follower goes on the bus
in batches whose ids repeat exactly when the activation is redelivered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.rooms.follows import handlers
from shared.contracts import Follow, FollowersToAlert, GetAnchor, ListFollowing, Room, RoomActivated, RoomStatus
from shared.errors import DomainError
from tests.fakes.follows import InMemoryFollows
from tests.fakes.publisher import RecordingPublisher
from tests.fakes.rooms_store import InMemoryBans, InMemoryRooms

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def test_following_is_idempotent_both_ways_and_announced_once() -> None:
    follows, events = InMemoryFollows(), RecordingPublisher()
    for _ in range(2):
        state = await handlers.follow(Follow(user_id="u", anchor_id="a"), follows=follows, events=events,
                                      max_following=10)
        assert (state.following, state.followers) == (True, 1)
    for _ in range(2):
        state = await handlers.follow(Follow(user_id="u", anchor_id="a", following=False), follows=follows,
                                      events=events, max_following=10)
        assert (state.following, state.followers) == (False, 0)
    assert [(e.type, e.payload["following"]) for e in events.events] == [("anchor.followed", True),
                                                                         ("anchor.followed", False)]


async def test_a_user_follows_at_most_the_limit_and_never_themself() -> None:
    follows, events = InMemoryFollows(), RecordingPublisher()
    for anchor in ("a1", "a2"):
        await handlers.follow(Follow(user_id="u", anchor_id=anchor), follows=follows, events=events, max_following=2)
    with pytest.raises(DomainError, match="the most one can"):
        await handlers.follow(Follow(user_id="u", anchor_id="a3"), follows=follows, events=events, max_following=2)
    with pytest.raises(DomainError, match="oneself"):
        await handlers.follow(Follow(user_id="u", anchor_id="u"), follows=follows, events=events, max_following=9)
    page = await handlers.following(ListFollowing(user_id="u", limit=1), follows=follows)
    assert (page.anchor_ids, page.more) == (["a1"], True)


async def test_an_anchor_going_live_is_announced_then_its_followers_batched_with_stable_ids() -> None:
    follows, events = InMemoryFollows(), RecordingPublisher()
    for i in range(2500):
        await follows.follow(f"u{i:05d}", "star", NOW)
    room = Room(id="r1", anchor_id="star", title="t", cover_url="https://x/c", status=RoomStatus.ACTIVE,
                created_at=NOW, activated_at=NOW, stream_id="s1")
    assert await handlers.went_live(RoomActivated(room=room), follows=follows, events=events) == 2500
    assert events.events[0].type == "anchor.went_live" and events.events[0].id == "r1:went_live"
    batches = [FollowersToAlert.model_validate(e.payload) for e in events.events[1:]]
    assert [b.batch for b in batches] == [0, 1, 2] and [b.last for b in batches] == [False, False, True]
    assert [len(b.follower_ids) for b in batches] == [1000, 1000, 500]
    assert len({f for b in batches for f in b.follower_ids}) == 2500
    first_ids = [e.id for e in events.events]
    await handlers.went_live(RoomActivated(room=room), follows=follows, events=events)  # redelivered
    assert [e.id for e in events.events[len(first_ids):]] == first_ids  # the same messages, recognisably


async def test_an_anchor_nobody_follows_goes_live_in_silence() -> None:
    follows, events = InMemoryFollows(), RecordingPublisher()
    room = Room(id="r2", anchor_id="new", title="t", cover_url="https://x/c", status=RoomStatus.ACTIVE,
                created_at=NOW, activated_at=NOW, stream_id="s2")
    assert await handlers.went_live(RoomActivated(room=room), follows=follows, events=events) == 0
    assert events.events == []


async def test_an_anchors_view_counts_followers_and_names_the_open_room() -> None:
    follows, rooms, bans = InMemoryFollows(), InMemoryRooms(), InMemoryBans()
    await follows.follow("u1", "star", NOW)
    anchor = await handlers.anchor(GetAnchor(anchor_id="star"), follows=follows, rooms=rooms, bans=bans)
    assert (anchor.followers, anchor.open_room, anchor.banned_until) == (1, None, None)
