"""The room directory: versions never move a room backwards, snapshots repair missed events,
and every order pages without repeating or skipping a room that stays live."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.gateway.directory import CursorExpired, RoomDirectory, RoomLister, cursors, keep_synced
from services.gateway.directory.cursors import CursorCodec, HotCursor, NearCursor, NewCursor, ReplayCursor
from services.gateway.directory.geo import distance_km, unit_vector
from services.gateway.directory.hot import KEEP_SECONDS, REFRESH_SECONDS
from shared.contracts import (
    CloseReason,
    LiveRoomPage,
    LiveState,
    Location,
    Room,
    RoomCounts,
    RoomStatus,
)
from shared.errors import DomainError

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def live(n: int, *, version: int = 2, location: tuple[float, float] | None = None, **fields: Any) -> Room:
    return Room(id=f"r{n:05d}", anchor_id=f"a{n}", title="t", cover_url="https://x/c.jpg", status=RoomStatus.ACTIVE,
                created_at=T0, activated_at=T0 + timedelta(milliseconds=n), stream_id=f"onair_r{n:05d}",
                version=version, location=Location(lat=location[0], lng=location[1]) if location else None, **fields)


def closed(room: Room) -> Room:
    return room.model_copy(update={"status": RoomStatus.CLOSED, "close_reason": CloseReason.ANCHOR,
                                   "closed_at": T0, "version": room.version + 1})


def counts(room: Room, version: int, viewers: int = 0, likes: int = 0, likes_added: int = 0,
           likers_added: int = 0) -> RoomCounts:
    return RoomCounts(room_id=room.id, version=version, viewers=viewers, likes=likes, viewers_added=0,
                      likes_added=likes_added, likers_added=likers_added)


def page_all(fetch: Any, limit: int, between: Any = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = json.loads(fetch(limit, cursor))
        assert len(page["rooms"]) <= limit
        seen.extend(page["rooms"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if between:
            between()


def test_versions_never_move_a_room_backwards(lister: RoomLister) -> None:
    directory = lister.directory
    room = live(1, version=2)
    assert directory.apply(room)
    assert directory.apply_counts(counts(room, 4, viewers=9))
    assert not directory.apply_counts(counts(room, 3, viewers=5))  # late
    assert not directory.apply_counts(counts(room, 4, viewers=9))  # duplicate
    assert not directory.apply(room)  # the activation again, older than what we hold
    assert directory.get(room.id).viewers == 9  # type: ignore[union-attr]
    assert directory.apply(closed(room.model_copy(update={"version": 5})))
    assert directory.live(room.id) is None and directory.closed(room.id)
    assert not directory.apply(room.model_copy(update={"version": 9}))  # closed is final
    assert not directory.apply_counts(counts(room, 10, viewers=1))


def test_unactive_rooms_are_not_listed(lister: RoomLister) -> None:
    pending = live(1).model_copy(update={"status": RoomStatus.UNACTIVE, "activated_at": None, "version": 1})
    assert not lister.directory.apply(pending)
    assert json.loads(lister.newest(20, None))["rooms"] == []


def test_snapshot_repairs_missed_events_but_keeps_what_happened_meanwhile(lister: RoomLister) -> None:
    directory = lister.directory
    kept, missed_close, activated_during = live(1), live(2), live(3)
    directory.apply(kept)
    directory.apply(missed_close)
    directory.begin_snapshot()
    directory.apply(activated_during)  # an event while the snapshot pages load
    dropped = directory.finish_snapshot([kept, live(4)])  # rooms 2 closed meanwhile; 4 activated (missed)
    assert dropped == 1
    assert {r["id"] for r in json.loads(lister.newest(20, None))["rooms"]} == {"r00001", "r00003", "r00004"}


def test_new_order_pages_without_repeats_while_rooms_come_and_go(lister: RoomLister) -> None:
    directory = lister.directory
    rooms = [live(n) for n in range(1, 101)]
    for room in rooms:
        directory.apply(room)
    rng = random.Random(7)
    newcomers = iter(range(1000, 2000))
    doomed = set(rng.sample([r.id for r in rooms], 20))

    def churn() -> None:
        directory.apply(live(next(newcomers)))
        for room in rooms:
            if room.id in doomed and rng.random() < 0.3:
                directory.apply(closed(room))

    seen = page_all(lister.newest, 7, churn)
    ids = [r["id"] for r in seen]
    assert len(ids) == len(set(ids))
    stayed = {r.id for r in rooms} - doomed
    assert stayed <= set(ids)  # nothing that stayed live is skipped
    keys = [(datetime.fromisoformat(r["activated_at"]), r["id"]) for r in seen]  # as times, not strings
    assert keys == sorted(keys, reverse=True)
    assert all(r["play_urls"]["hls"].endswith(r["play_urls"]["rtmp"].split("?")[1]) for r in seen)


def test_hot_ranks_by_viewers_and_fresh_likes_and_pins_the_ranking(lister: RoomLister, clock: Clock) -> None:
    directory = lister.directory
    rooms = [live(n) for n in range(1, 31)]
    for n, room in enumerate(rooms):
        directory.apply_counts(counts(room, 3, viewers=n)) if directory.apply(room) else None
    old_likes, fresh_likes = rooms[0], rooms[1]
    directory.apply_counts(counts(old_likes, 4, likes=200, likes_added=200, likers_added=200))
    clock.now += 3600  # an hour later: those likers weigh 1/64
    directory.apply_counts(counts(fresh_likes, 4, likes=100, likes_added=100, likers_added=100))
    first = json.loads(lister.hot(5, None))
    assert first["rooms"][0]["id"] == fresh_likes.id
    scores = [r["hot_score"] for r in first["rooms"]]
    assert scores == sorted(scores, reverse=True)

    # Scores move a lot between pages: the cursor's pinned ranking still pages cleanly.
    seen = first["rooms"]
    cursor = first["next_cursor"]
    bump = 10_000
    while cursor:
        for room in rooms[-5:]:
            bump += 1
            directory.apply_counts(counts(room, bump, viewers=bump))
        clock.now += REFRESH_SECONDS + 1
        page = json.loads(lister.hot(5, cursor))
        seen.extend(page["rooms"])
        cursor = page["next_cursor"]
    assert sorted(r["id"] for r in seen) == sorted(r.id for r in rooms)
    all_scores = [r["hot_score"] for r in seen]
    assert all_scores == sorted(all_scores, reverse=True)


def test_an_expired_hot_cursor_is_refused(lister: RoomLister, clock: Clock) -> None:
    for n in range(1, 11):
        lister.directory.apply(live(n))
    cursor = json.loads(lister.hot(3, None))["next_cursor"]
    clock.now += KEEP_SECONDS + 1
    with pytest.raises(CursorExpired):
        lister.hot(3, cursor)


def test_near_is_nearest_first_with_distances_and_pages_by_distance(lister: RoomLister) -> None:
    directory = lister.directory
    rng = random.Random(3)
    spots = [(rng.uniform(-80, 80), rng.uniform(-180, 180)) for _ in range(300)]
    for n, spot in enumerate(spots, start=1):
        directory.apply(live(n, location=spot))
    directory.apply(live(999))  # no location: never in `near`
    lat, lng = 39.9, 179.5  # next to the antimeridian

    def fetch(limit: int, cursor: str | None) -> bytes:
        return lister.near(lat, lng, limit, cursor)

    seen = page_all(fetch, 13)
    assert len(seen) == 300 and "r00999" not in {r["id"] for r in seen}
    origin = unit_vector(lat, lng)
    expected = sorted((distance_km(origin, unit_vector(*spot)), f"r{n:05d}") for n, spot in enumerate(spots, 1))
    assert [r["id"] for r in seen] == [room_id for _, room_id in expected]
    assert [r["distance_km"] for r in seen] == [round(km, 3) for km, _ in expected]


def test_near_places_the_viewer_on_a_grid_so_a_cell_shares_one_page_and_its_cursors(lister: RoomLister) -> None:
    for n in range(1, 8):
        lister.directory.apply(live(n, location=(31.2 + n / 100, 121.4)))
    first = lister.near(31.2312, 121.4049, 3, None)
    assert lister.near(31.2349, 121.3951, 3, None) is first  # the same cell (31.23, 121.40): rendered once
    page = json.loads(first)
    origin = unit_vector(31.23, 121.40)
    assert page["rooms"][0]["distance_km"] == round(distance_km(origin, unit_vector(31.23, 121.4)), 3)
    moved = json.loads(lister.near(31.2301, 121.4001, 3, page["next_cursor"]))  # still in the cell
    assert {r["id"] for r in moved["rooms"]}.isdisjoint({r["id"] for r in page["rooms"]})
    with pytest.raises(DomainError):
        lister.near(31.2451, 121.4001, 3, page["next_cursor"])  # another cell


def test_distances_are_great_circle() -> None:
    beijing, shanghai = unit_vector(39.9042, 116.4074), unit_vector(31.2304, 121.4737)
    assert distance_km(beijing, shanghai) == pytest.approx(1067, abs=3)
    assert distance_km(unit_vector(0, 179.9), unit_vector(0, -179.9)) == pytest.approx(22.24, abs=0.1)


@pytest.mark.parametrize("token", ["", "zzz", "!!!!", "W10", "WzEsMl0", "eyJhIjoxfQ", "WyJ4IiwieSJd", "WyJuIiwxXQ"])
def test_malformed_cursors_are_invalid(lister: RoomLister, token: str) -> None:
    with pytest.raises(DomainError):
        lister.newest(5, token or "=")


def test_a_forged_hot_cursor_cannot_walk_backwards(lister: RoomLister) -> None:
    for n in range(1, 6):
        lister.directory.apply(live(n))
    ranking = json.loads(lister.hot(2, None))["next_cursor"]
    pinned = lister.cursors.decode(ranking, HotCursor)
    assert isinstance(pinned, HotCursor)
    with pytest.raises(DomainError):  # out of range
        lister.hot(2, lister.cursors.encode(HotCursor(pinned.ranking, -3)))


def test_a_hot_cursor_is_a_ranking_and_a_position_and_any_position_in_it_is_a_page(lister: RoomLister) -> None:
    """Unsigned (only this process holds the ranking, and every position is a page that exists):
    an edited position pages from there; a ranking this process does not hold is CursorExpired."""
    for n in range(1, 6):
        lister.directory.apply(live(n))
    first = json.loads(lister.hot(2, None))
    cursor = first["next_cursor"]
    ranking = lister.rankings.current(lister.directory.scores, lister.clock()).id
    assert cursor == f"h.{ranking}.2"
    ids = [room["id"] for room in first["rooms"]]
    ids += [room["id"] for room in json.loads(lister.hot(3, cursor))["rooms"]]
    assert [room["id"] for room in json.loads(lister.hot(2, f"h.{ranking}.3"))["rooms"]] == ids[3:5]
    assert json.loads(lister.hot(2, f"h.{ranking}.5")) == {"rooms": [], "next_cursor": None}
    with pytest.raises(CursorExpired):
        lister.hot(2, "h.0badf00d-1.2")


@pytest.mark.parametrize("token", ["h.", "h..2", "h.ab12-1", "h.ab12-1.", "h.ab12-1.-1", "h.ab12-1.+1", "h.ab12-1.1.2",
                                   "h.ab12-1.\u0662", "h.ab12-1.99999999", "h.AB12-1.2", "h.ab12.2", "h.ab12-1. 2"])
def test_malformed_hot_cursors_are_invalid(lister: RoomLister, token: str) -> None:
    with pytest.raises(DomainError, match="malformed"):
        lister.hot(2, token)


def test_a_cursor_of_another_order_or_point_is_refused(lister: RoomLister) -> None:
    for n in range(1, 6):
        lister.directory.apply(live(n, location=(n, n)))
    new_cursor = json.loads(lister.newest(2, None))["next_cursor"]
    near_cursor = json.loads(lister.near(0, 0, 2, None))["next_cursor"]
    hot_cursor = json.loads(lister.hot(2, None))["next_cursor"]
    with pytest.raises(DomainError):
        lister.hot(2, new_cursor)
    with pytest.raises(DomainError, match="another sort order"):
        lister.newest(2, hot_cursor)
    with pytest.raises(DomainError):
        lister.near(1, 1, 2, near_cursor)


class SnapshotRooms:
    """The rooms service's live pages, in memory: pages of live rooms by id."""

    def __init__(self, rooms: list[Room]) -> None:
        self.rooms, self.snapshots = rooms, 0

    async def live_page(self, *, after_id: str | None, limit: int = 5000, timeout: float | None = None) -> LiveRoomPage:
        after = [r for r in sorted(self.rooms, key=lambda r: r.id) if after_id is None or r.id > after_id]
        page = after[:limit]
        if after_id is None:
            self.snapshots += 1
        return LiveRoomPage(rooms=page, last_id=page[-1].id if len(page) == limit else None)


async def test_the_directory_loads_in_pages_and_reloads_after_a_reconnect() -> None:
    bus = SnapshotRooms([live(n) for n in range(1, 8)])
    directory, reconnected = RoomDirectory(), asyncio.Event()
    sync = asyncio.create_task(keep_synced(bus, directory, reconnected, resync_every=3600, page_size=3, timeout=1))
    try:
        for _ in range(100):
            if directory.loaded:
                break
            await asyncio.sleep(0)  # a yield to the sync task: nothing here waits
        assert len(directory) == 7 and bus.snapshots == 1
        bus.rooms = bus.rooms[1:]  # room 1 closed while this gateway was disconnected: its event is lost
        reconnected.set()
        for _ in range(100):
            if bus.snapshots == 2 and directory.live("r00001") is None:
                break
            await asyncio.sleep(0)
        assert bus.snapshots == 2 and len(directory) == 6
    finally:
        sync.cancel()
        await asyncio.gather(sync, return_exceptions=True)


def restated(room: Room, state: LiveState) -> Room:
    return room.model_copy(update={"stream_state": state, "version": room.version + 1,
                                   "interrupted_at": T0 if state is LiveState.INTERRUPTED else None})


def test_an_interrupted_room_leaves_every_order_and_comes_back_in_its_place(lister: RoomLister) -> None:
    directory = lister.directory
    rooms = [live(n, location=(31.2, 121.4 + n / 100), stream_state=LiveState.LIVE) for n in range(3)]
    for room in rooms:
        directory.apply(room)
    directory.apply_counts(counts(rooms[1], rooms[1].version + 1, likes=50, likes_added=50, likers_added=50))
    middle = directory.live(rooms[1].id)
    assert middle is not None
    before = middle.room()
    def ids(body: bytes) -> list[str]:
        return [r["id"] for r in json.loads(body)["rooms"]]
    assert ids(lister.newest(10, None)) == ["r00002", "r00001", "r00000"]
    assert ids(lister.hot(10, None))[0] == "r00001"  # the liked one leads

    assert directory.apply(restated(before, LiveState.INTERRUPTED))
    assert ids(lister.newest(10, None)) == ["r00002", "r00000"]
    assert "r00001" not in ids(lister.hot(10, None)) and "r00001" not in ids(lister.near(31.2, 121.4, 10, None))
    held = directory.get("r00001")
    assert held is not None and held.stream_state is LiveState.INTERRUPTED  # still shown by id
    assert directory.by_stream("onair_r00001") is not None

    interrupted = directory.get("r00001")
    assert interrupted is not None and directory.apply(restated(interrupted, LiveState.LIVE))
    assert ids(lister.newest(10, None)) == ["r00002", "r00001", "r00000"]
    assert ids(lister.hot(10, None))[0] == "r00001"  # its likes were kept while it was off air
    assert "r00001" in ids(lister.near(31.2, 121.4, 10, None))


def test_a_closed_rooms_stream_is_remembered(lister: RoomLister) -> None:
    room = live(1)
    lister.directory.apply(room)
    assert lister.directory.by_stream(room.stream_id) is not None and not lister.directory.closed_stream(room.stream_id)
    lister.directory.apply(closed(room))
    assert lister.directory.by_stream(room.stream_id) is None and lister.directory.closed_stream(room.stream_id)


def _edited(token: str, payload: bytes) -> str:
    """The token with its payload replaced and its MAC kept (what a client can forge)."""
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + token.split(".")[1]


@pytest.mark.parametrize("forge", ["unsigned", "edited", "another key", "infinite distance (key leaked)"])
def test_a_forged_cursor_is_refused_before_any_search(lister: RoomLister, forge: str) -> None:
    for n in range(1, 6):
        lister.directory.apply(live(n, location=(31.2, 121.4 + n / 100)))
    genuine = json.loads(lister.near(31.2, 121.4, 2, None))["next_cursor"]
    forged = {
        "unsigned": genuine.split(".")[0],
        "edited": _edited(genuine, b'["g",31.2,121.4,0,"r00001"]'),
        "another key": CursorCodec(b"not-the-key").encode(NearCursor(31.2, 121.4, 0.0, "r00001")),
        "infinite distance (key leaked)": lister.cursors.encode(NearCursor(31.2, 121.4, math.inf, "r00001")),
    }[forge]
    searches = 0
    nearest = lister.directory.nearest

    def counted(origin: tuple[float, float, float], count: int) -> list[tuple[float, str]]:
        nonlocal searches
        searches += 1
        return nearest(origin, count)

    lister.directory.nearest = counted  # type: ignore[method-assign]
    with pytest.raises(DomainError):
        lister.near(31.2, 121.4, 2, forged)
    assert searches == 0
    assert json.loads(lister.near(31.2, 121.4, 2, genuine))["rooms"]  # the genuine one still pages


def test_near_pages_end_at_their_depth(lister: RoomLister, monkeypatch: pytest.MonkeyPatch) -> None:
    """However far a (genuine) cursor points, a search asks for at most NEAR_DEPTH rooms."""
    monkeypatch.setattr("services.gateway.directory.listing.NEAR_DEPTH", 8)
    for n in range(20):
        lister.directory.apply(live(n, location=(31.2, 121.4 + n / 100)))
    asked: list[int] = []
    nearest = lister.directory.nearest

    def recorded(origin: tuple[float, float, float], count: int) -> list[tuple[float, str]]:
        asked.append(count)
        return nearest(origin, count)

    lister.directory.nearest = recorded  # type: ignore[method-assign]
    seen = page_all(lambda limit, cursor: lister.near(31.2, 121.4, limit, cursor), 3)
    assert len(seen) == 8 and max(asked) == 8
    far = lister.cursors.encode(NearCursor(31.2, 121.4, 5000.0, "r00019"))  # past everything
    assert json.loads(lister.near(31.2, 121.4, 3, far)) == {"rooms": [], "next_cursor": None}
    assert max(asked) == 8


def test_new_cursors_hold_their_range(lister: RoomLister) -> None:
    with pytest.raises(DomainError):
        lister.newest(3, lister.cursors.encode(NewCursor(-1, "r1")))


@pytest.mark.parametrize("room_id", ["f3789f5e0fd64133a2c3f6dea0fed56d", "r-1", "r\u00e9", "r" * 200])
def test_the_pages_cursor_shortcuts_encode_as_the_cursors_do(room_id: str) -> None:
    """`after_new` and `at_hot` (the pages' own, with no tuple made) write what `encode` writes:
    plain where the room id is plain, signed otherwise, and each decodes back."""
    codec = CursorCodec(b"k" * 32)
    assert codec.after_new(1764489600123, room_id) == codec.encode(NewCursor(1764489600123, room_id))
    assert codec.decode(codec.after_new(1764489600123, room_id), NewCursor) == NewCursor(1764489600123, room_id)
    assert codec.at_hot("ab12cd34-7", 105) == codec.encode(HotCursor("ab12cd34-7", 105)) == "h.ab12cd34-7.105"


def test_hot_counts_people_not_taps(lister: RoomLister) -> None:
    """One account tapping at its limit (900 likes, one person) against a room where 15 people
    watch and each liked once: the fifteen rank first."""
    clicked, watched = live(1), live(2)
    for room in (clicked, watched):
        lister.directory.apply(room)
    lister.directory.apply_counts(counts(clicked, 3, likes=900, likes_added=900, likers_added=1))
    lister.directory.set_viewers_now(clicked.id, 1)
    lister.directory.apply_counts(counts(watched, 3, likes=15, likes_added=15, likers_added=15))
    lister.directory.set_viewers_now(watched.id, 15)
    ranked = json.loads(lister.hot(2, None))["rooms"]
    assert [(r["id"], r["hot_score"]) for r in ranked] == [(watched.id, 30.0), (clicked.id, 2.0)]


def _signed(key: bytes, fields: list[object]) -> str:
    """A cursor as every version signs it: compact JSON, HMAC-SHA256 truncated to 16 bytes."""
    payload = json.dumps(fields, separators=(",", ":")).encode()
    return ".".join(base64.urlsafe_b64encode(part).decode().rstrip("=")
                    for part in (payload, hmac.digest(key, payload, "sha256")[:16]))


@pytest.mark.parametrize("key_bytes", [16, 32, 64, 100])
def test_cursor_macs_are_hmac_sha256_so_replicas_of_any_version_accept_each_others(key_bytes: int) -> None:
    key = bytes(range(key_bytes))
    codec = CursorCodec(key)
    assert codec.encode(ReplayCursor(1764489600123, "p1")) == _signed(key, ["r", 1764489600123, "p1"])
    assert codec.encode(NewCursor(1764489600123, "r\u00e9")) == _signed(key, ["n", 1764489600123, "r\u00e9"])
    long_id = "r" * 129  # past what a plain cursor holds: signed, and read back
    assert codec.encode(NewCursor(1, long_id)) == _signed(key, ["n", 1, long_id])
    assert codec.decode(codec.encode(NewCursor(1, long_id)), NewCursor) == NewCursor(1, long_id)
    # a `new` cursor signed by an earlier version (they were all signed) is still taken
    assert codec.decode(_signed(key, ["n", 1764489600123, "room1"]), NewCursor) == NewCursor(1764489600123, "room1")


def test_a_new_cursor_is_a_point_in_the_order_and_any_point_is_a_page(lister: RoomLister) -> None:
    """Plain: `n.<activated ms>.<room id>`; an edited point pages from there, as a real one would."""
    for n in range(1, 6):
        lister.directory.apply(live(n))
    everything = json.loads(lister.newest(5, None))["rooms"]
    cursor = json.loads(lister.newest(2, None))["next_cursor"]
    second, third = (lister.directory.live(room["id"]) for room in everything[1:3])
    assert second is not None and third is not None
    assert cursor == f"n.{second.activated_ms}.{second.room_id}"
    edited = f"n.{third.activated_ms}.{third.room_id}"  # one room further than given
    assert [room["id"] for room in json.loads(lister.newest(2, edited))["rooms"]] == [r["id"] for r in everything[3:5]]


@pytest.mark.parametrize("token", ["n.", "n..r1", "n.12", "n.12.", "n.-1.r1", "n.+1.r1", "n.1.r-1", "n.1.r.1",
                                   "n.\u0661.r1", "n.99999999999999999.r1", "n.1.r\u00e9", "n.1.r 1"])
def test_malformed_new_cursors_are_invalid(lister: RoomLister, token: str) -> None:
    with pytest.raises(DomainError, match="malformed"):
        lister.newest(2, token)


def test_cursor_macs_use_cpythons_own_sha256_not_openssls() -> None:
    """The same HMAC-SHA256, without an OpenSSL 3 context copy per cursor (30-40 µs of a served
    Following page, `cursors._plain_sha256`): a platform without it falls back, this one has it."""
    assert cursors._SHA256.__module__ in ("_sha256", "_sha2")


@pytest.mark.parametrize("cursor", [NewCursor(1764489600123, "r\u00e9\"1"), ReplayCursor(1764489600123, "p1"),
                                    NearCursor(31.2, -121.45, 1e-05, "r1")])
def test_cursor_payloads_are_compact_json_of_the_tag_and_fields(cursor: cursors.Cursor) -> None:
    expected = json.dumps([cursors._TAGS[type(cursor)], *cursor], separators=(",", ":")).encode()
    assert cursors._payload(cursor) == expected
