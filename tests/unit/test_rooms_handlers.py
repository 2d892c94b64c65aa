"""Every rooms handler, wired as the bootstrap wires them, on the in-memory store: milliseconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from services.rooms.bootstrap import command_routes, event_routes, query_routes
from services.rooms.counters import apply_counter_batch
from services.rooms.domain import now_ms
from services.rooms.maintenance import expire_unactive_rooms
from shared.bus import Routes
from shared.contracts import (
    ActivateRoom,
    AnchorUnbanned,
    BanAnchor,
    BannedRooms,
    CloseReason,
    CloseRoom,
    Contract,
    CounterEntry,
    CreateRoom,
    Envelope,
    ErrorCode,
    GetRoom,
    GetRoomByStream,
    ListLiveRooms,
    LiveRoomPage,
    LiveState,
    RecordCounters,
    Room,
    RoomCountersChanged,
    RoomStatus,
    StreamOfflineStrike,
    StreamRecovered,
    StreamStarted,
    StreamStopped,
    wrap,
)
from shared.errors import BusUnavailable, DomainError
from tests.fakes.publisher import RecordingPublisher
from tests.fakes.rooms_store import InMemoryBans, InMemoryCounters, InMemoryRooms, RecordingOutbox


@dataclass
class Rooms:
    store: InMemoryRooms
    bans: InMemoryBans
    outbox: RecordingOutbox
    routes: Routes

    async def send(self, message: Contract, message_id: str | None = None) -> Contract | None:
        return await self.routes[type(message)](wrap(message, message_id=message_id, correlation_id="c1"), message)

    async def room(self, message: Contract, message_id: str | None = None) -> Room:
        result = await self.send(message, message_id)
        assert isinstance(result, Room)
        return result

    async def live_room(self, anchor: str = "alice") -> Room:
        room = await self.room(CreateRoom(anchor_id=anchor, title="t", cover_url="https://x/c.jpg"))
        return await self.room(ActivateRoom(room_id=room.id, actor_id=anchor))


@pytest.fixture
def rooms() -> Rooms:
    store, bans = InMemoryRooms(), InMemoryBans()
    outbox = RecordingOutbox(store)
    return Rooms(store, bans, outbox, {**command_routes(store, bans, outbox), **event_routes(store, bans, outbox),
                                       **query_routes(store)})


def refused(code: ErrorCode) -> pytest.RaisesExc[DomainError]:
    return pytest.raises(DomainError, check=lambda exc: exc.code is code)


async def test_create_makes_an_unactive_room_named_by_the_command_and_emits_once(rooms: Rooms) -> None:
    command = CreateRoom(anchor_id="alice", title="hello", cover_url="https://x/c.jpg")
    room = await rooms.room(command, message_id="m-1")
    again = await rooms.room(command, message_id="m-1")  # the same command redelivered
    assert (room.id, room.status, room.stream_id, room.version) == ("m-1", RoomStatus.UNACTIVE, "onair_m-1", 1)
    assert again == room
    assert [(e.type, e.id, e.correlation_id) for e in rooms.outbox.published] == [
        ("room.created", "m-1:room.created", "c1")]
    assert rooms.store.docs["m-1"].outbox == []  # flushed, then cleared


async def test_an_anchor_has_one_open_room_and_a_banned_anchor_none(rooms: Rooms) -> None:
    first = await rooms.room(CreateRoom(anchor_id="alice", title="t", cover_url="https://x/c.jpg"))
    with refused(ErrorCode.CONFLICT) as second:
        await rooms.send(CreateRoom(anchor_id="alice", title="t", cover_url="https://x/c.jpg"))
    assert second.value.extra == {"open_room_id": first.id}
    until = now_ms() + timedelta(hours=1)
    await rooms.send(BanAnchor(anchor_id="bob", ban_id="b1", reason="spam", until=until))
    with refused(ErrorCode.CONFLICT) as banned:
        await rooms.send(CreateRoom(anchor_id="bob", title="t", cover_url="https://x/c.jpg"))
    assert banned.value.extra == {"banned_until": until.isoformat()}
    await rooms.send(AnchorUnbanned(anchor_id="bob"))
    assert (await rooms.room(CreateRoom(anchor_id="bob", title="t", cover_url="https://x/c.jpg"))).anchor_id == "bob"


async def test_activate_by_the_anchor_once_whatever_the_repeats(rooms: Rooms) -> None:
    room = await rooms.room(CreateRoom(anchor_id="alice", title="t", cover_url="https://x/c.jpg"))
    with refused(ErrorCode.FORBIDDEN):
        await rooms.send(ActivateRoom(room_id=room.id, actor_id="mallory"))
    active = await rooms.room(ActivateRoom(room_id=room.id, actor_id="alice"))
    repeat = await rooms.room(ActivateRoom(room_id=room.id, actor_id="alice"))
    assert (active.status, active.version, active.activated_at is not None) == (RoomStatus.ACTIVE, 2, True)
    assert repeat == active
    assert rooms.outbox.types() == ["room.created", "room.activated"]


async def test_a_write_that_loses_a_race_decides_again_on_the_new_state(rooms: Rooms) -> None:
    room = await rooms.room(CreateRoom(anchor_id="alice", title="t", cover_url="https://x/c.jpg"))
    rooms.store.lose_next_race = 2  # two concurrent changes (likes) win first
    active = await rooms.room(ActivateRoom(room_id=room.id, actor_id="alice"))
    assert (active.status, active.version, active.likes) == (RoomStatus.ACTIVE, 4, 2)
    assert rooms.outbox.types() == ["room.created", "room.activated"]


async def test_close_by_anchor_or_system_and_closed_is_final(rooms: Rooms) -> None:
    room = await rooms.live_room()
    with refused(ErrorCode.FORBIDDEN):
        await rooms.send(CloseRoom(room_id=room.id, reason=CloseReason.ANCHOR, actor_id="mallory"))
    closed = await rooms.room(CloseRoom(room_id=room.id, reason=CloseReason.BLACK_SCREEN))  # the watcher: no actor
    assert (closed.status, closed.close_reason, closed.closed_at is not None) == (
        RoomStatus.CLOSED, CloseReason.BLACK_SCREEN, True)
    assert await rooms.room(CloseRoom(room_id=room.id, reason=CloseReason.ANCHOR, actor_id="alice")) == closed
    with refused(ErrorCode.CONFLICT):
        await rooms.send(ActivateRoom(room_id=room.id, actor_id="alice"))
    with refused(ErrorCode.NOT_FOUND):
        await rooms.send(CloseRoom(room_id="nope", reason=CloseReason.ANCHOR))
    assert rooms.outbox.types() == ["room.created", "room.activated", "room.closed"]


async def test_reads_by_id_by_stream_and_live_pages(rooms: Rooms) -> None:
    live = [await rooms.live_room(f"anchor-{n}") for n in range(5)]
    waiting = await rooms.room(CreateRoom(anchor_id="late", title="t", cover_url="https://x/c.jpg"))
    assert await rooms.send(GetRoom(room_id=waiting.id)) == waiting
    assert await rooms.send(GetRoomByStream(stream_id=live[0].stream_id)) == live[0]
    with refused(ErrorCode.NOT_FOUND):
        await rooms.send(GetRoom(room_id="nope"))
    with refused(ErrorCode.NOT_FOUND):
        await rooms.send(GetRoomByStream(stream_id="nope"))
    pages: list[LiveRoomPage] = []
    after: str | None = None
    while True:
        page = await rooms.send(ListLiveRooms(limit=2, after_id=after))
        assert isinstance(page, LiveRoomPage)
        pages.append(page)
        if page.last_id is None:
            break
        after = page.last_id
    assert [len(p.rooms) for p in pages] == [2, 2, 1]  # active rooms only, in id order
    assert [r.id for p in pages for r in p.rooms] == sorted(r.id for r in live)


async def test_rooms_that_never_went_live_expire(rooms: Rooms) -> None:
    stale = await rooms.room(CreateRoom(anchor_id="alice", title="t", cover_url="https://x/c.jpg"))
    live = await rooms.live_room("bob")
    fresh = await rooms.room(CreateRoom(anchor_id="carol", title="t", cover_url="https://x/c.jpg"))
    for room in (stale, live):  # made two hours ago
        doc = rooms.store.docs[room.id]
        doc.room = doc.room.model_copy(update={"created_at": room.created_at - timedelta(hours=2)})
    assert await expire_unactive_rooms(rooms.store, rooms.outbox, timedelta(hours=1)) == 1
    expired = await rooms.store.get(stale.id)
    assert expired is not None and expired.close_reason is CloseReason.EXPIRED
    statuses = [(await rooms.store.get(r.id) or r).status for r in (live, fresh)]
    assert statuses == [RoomStatus.ACTIVE, RoomStatus.UNACTIVE]


def counters(*entries: CounterEntry, message_id: str) -> tuple[Envelope, Contract]:
    command = RecordCounters(entries=list(entries))
    return wrap(command, message_id=message_id), command


async def test_a_counter_batch_is_written_once_and_announced(rooms: Rooms) -> None:
    live, waiting = await rooms.live_room("alice"), await rooms.room(CreateRoom(anchor_id="bob", title="t",
                                                                                   cover_url="https://x/c.jpg"))
    store, events = InMemoryCounters(rooms.store), RecordingPublisher()
    batch = [counters(CounterEntry(room_id=live.id, likes=2), CounterEntry(room_id=waiting.id, likes=9),
                      message_id="m1"),
             counters(CounterEntry(room_id=live.id, likes=3, viewers=1), message_id="m2"),
             counters(CounterEntry(room_id=live.id, likes=1, key="fan:tap-1"), message_id="m3"),
             counters(CounterEntry(room_id=live.id, likes=1, key="fan:tap-1"), message_id="m4")]  # a client retry
    await apply_counter_batch(batch, counters=store, events=events)
    [event] = events.events
    [counts] = RoomCountersChanged.model_validate(event.payload).rooms
    assert (counts.room_id, counts.likes, counts.viewers, counts.likes_added, counts.version) == (
        live.id, 6, 1, 6, live.version + 1)
    assert (await rooms.store.get(waiting.id) or waiting).likes == 0  # not live: not counted
    await apply_counter_batch(batch, counters=store, events=events)  # redelivered: counts nothing...
    assert (await rooms.store.get(live.id) or live).likes == 6
    [again] = RoomCountersChanged.model_validate(events.events[1].payload).rooms  # ...and announces them again
    assert (again.likes, again.version, again.likes_added) == (6, counts.version, 0)


async def test_a_batch_whose_announcement_failed_is_redelivered_and_announced_once_written(rooms: Rooms) -> None:
    live = await rooms.live_room()
    store, events = InMemoryCounters(rooms.store), RecordingPublisher()
    batch = [counters(CounterEntry(room_id=live.id, likes=4), message_id="m1")]
    events.refuse = True  # the last announcement before a quiet spell: no later one would catch up
    with pytest.raises(BusUnavailable):
        await apply_counter_batch(batch, counters=store, events=events)
    assert (await rooms.store.get(live.id) or live).likes == 4  # written
    events.refuse = False
    await apply_counter_batch(batch, counters=store, events=events)  # the redelivery
    [counts] = RoomCountersChanged.model_validate(events.events[0].payload).rooms
    assert (await rooms.store.get(live.id) or live).likes == 4 and counts.likes == 4


async def test_a_ban_records_first_then_closes_the_anchors_open_room(rooms: Rooms) -> None:
    live = await rooms.live_room("alice")
    until = now_ms() + timedelta(hours=1)
    banned = await rooms.send(BanAnchor(anchor_id="alice", ban_id="b1", reason="rules", until=until))
    assert isinstance(banned, BannedRooms)
    assert [(r.id, r.status, r.close_reason) for r in banned.closed] == [(live.id, RoomStatus.CLOSED,
                                                                         CloseReason.BANNED)]
    assert await rooms.bans.banned_until("alice") == until
    again = await rooms.send(BanAnchor(anchor_id="alice", ban_id="b1", reason="rules", until=until))
    assert again == BannedRooms(closed=[])  # a repeat: nothing left open
    assert rooms.outbox.types() == ["room.created", "room.activated", "room.closed"]


async def test_a_create_that_raced_a_ban_is_closed_as_banned(rooms: Rooms) -> None:
    """The ban landed between the create's first check and its insert: the check after the insert
    sees it, and the new room is closed before anyone could activate or push it."""
    until = now_ms() + timedelta(hours=1)
    checks = 0
    first_check = rooms.bans.banned_until

    async def ban_lands_after_the_first_check(anchor_id: str) -> object:
        nonlocal checks
        checks += 1
        if checks == 2:
            await rooms.bans.record(anchor_id, until, "rules", "b1")
        return await first_check(anchor_id)

    rooms.bans.banned_until = ban_lands_after_the_first_check  # type: ignore[method-assign,assignment]
    with refused(ErrorCode.CONFLICT):
        await rooms.send(CreateRoom(anchor_id="alice", title="t", cover_url="https://x/c.jpg"), message_id="m-1")
    room = await rooms.store.get("m-1")
    assert room is not None and (room.status, room.close_reason) == (RoomStatus.CLOSED, CloseReason.BANNED)


def started(stream: str, session: str, at: int) -> StreamStarted:
    return StreamStarted(stream_id=stream, source="nginx-rtmp", sequence=session,
                         event_time=now_ms().replace(year=2030, microsecond=0) + timedelta(seconds=at))


def stopped(stream: str, session: str, at: int) -> StreamStopped:
    return StreamStopped(stream_id=stream, source="nginx-rtmp", sequence=session,
                         event_time=now_ms().replace(year=2030, microsecond=0) + timedelta(seconds=at))


async def state_of(rooms: Rooms, room: Room) -> LiveState | None:
    stored = await rooms.store.get(room.id)
    assert stored is not None
    return stored.stream_state


async def test_a_stopped_push_interrupts_the_room_and_its_next_start_resumes_it(rooms: Rooms) -> None:
    room = await rooms.live_room()
    assert room.stream_state is LiveState.LIVE
    await rooms.send(started(room.stream_id, "a:1", 0))  # the push of this session, reported late
    await rooms.send(stopped(room.stream_id, "a:1", 5))
    interrupted = await rooms.store.get(room.id)
    assert interrupted is not None and interrupted.stream_state is LiveState.INTERRUPTED
    assert interrupted.interrupted_at is not None and interrupted.status is RoomStatus.ACTIVE
    await rooms.send(stopped(room.stream_id, "a:1", 5))  # Tencent retries: a repeat
    await rooms.send(started(room.stream_id, "a:2", 9))
    assert await state_of(rooms, room) is LiveState.LIVE
    assert rooms.outbox.types()[-2:] == ["room.interrupted", "room.resumed"]
    assert len({e.id for e in rooms.outbox.published}) == len(rooms.outbox.published)


async def test_late_and_reordered_reports_never_interrupt_a_newer_push(rooms: Rooms) -> None:
    room = await rooms.live_room()
    await rooms.send(started(room.stream_id, "a:1", 0))
    await rooms.send(started(room.stream_id, "a:2", 10))  # reconnected: the old stop is not in yet
    await rooms.send(stopped(room.stream_id, "a:1", 10))  # the old session's stop, late (same second)
    assert await state_of(rooms, room) is LiveState.LIVE
    await rooms.send(stopped(room.stream_id, "a:3", 8))  # a stop older than what is known
    assert await state_of(rooms, room) is LiveState.LIVE
    await rooms.send(stopped(room.stream_id, "a:2", 20))
    await rooms.send(started(room.stream_id, "a:2", 10))  # the start of the ended session, late
    assert await state_of(rooms, room) is LiveState.INTERRUPTED
    assert rooms.outbox.types().count("room.interrupted") == 1


async def test_polls_interrupt_when_no_callback_came_and_resume_when_the_push_is_back(rooms: Rooms) -> None:
    room = await rooms.live_room()
    await rooms.send(started(room.stream_id, "a:1", 0))
    await rooms.send(StreamOfflineStrike(room_id=room.id, stream_id=room.stream_id, count=1,
                                         observed_at=started(room.stream_id, "", -5).event_time))
    assert await state_of(rooms, room) is LiveState.LIVE  # a poll made before the push began
    await rooms.send(StreamOfflineStrike(room_id=room.id, stream_id=room.stream_id, count=1,
                                         observed_at=started(room.stream_id, "", 5).event_time))
    assert await state_of(rooms, room) is LiveState.INTERRUPTED
    await rooms.send(StreamRecovered(room_id=room.id, stream_id=room.stream_id, strikes_before=1,
                                     observed_at=started(room.stream_id, "", 15).event_time))
    assert await state_of(rooms, room) is LiveState.LIVE


async def test_a_push_that_stopped_before_activation_starts_the_room_interrupted(rooms: Rooms) -> None:
    room = await rooms.room(CreateRoom(anchor_id="alice", title="t", cover_url="https://x/c.jpg"))
    await rooms.send(started(room.stream_id, "a:1", 0))
    await rooms.send(stopped(room.stream_id, "a:1", 1))
    active = await rooms.room(ActivateRoom(room_id=room.id, actor_id="alice"))
    assert (active.status, active.stream_state) == (RoomStatus.ACTIVE, LiveState.INTERRUPTED)
    closed = await rooms.room(CloseRoom(room_id=room.id, reason=CloseReason.ANCHOR, actor_id="alice"))
    assert (closed.stream_state, closed.interrupted_at) == (None, None)
    await rooms.send(started(room.stream_id, "a:2", 5))  # a closed room takes no push reports
    assert (await rooms.store.get(room.id) or room).version == closed.version


async def test_a_stop_naming_another_session_never_takes_a_live_push_off(rooms: Rooms) -> None:
    """A leaked callback signature covers no body and stream ids are public: a forged stop with a
    made-up session, however new, does not interrupt the session on air (polls catch lost stops)."""
    room = await rooms.live_room()
    await rooms.send(started(room.stream_id, "a:1", 0))
    await rooms.send(stopped(room.stream_id, "forged", 60))
    assert await state_of(rooms, room) is LiveState.LIVE
    await rooms.send(StreamOfflineStrike(room_id=room.id, stream_id=room.stream_id, count=1,
                                         observed_at=started(room.stream_id, "", 90).event_time))
    assert await state_of(rooms, room) is LiveState.INTERRUPTED  # a real stop whose callback was lost
