"""The replays' rules on in-memory stores: a recording becomes one replay of its room however
often it is reported; a ban hides the room's replays from everyone but moderators (even a
recording reported after the ban); only its anchor deletes one; retention deletes the file
first, and keeps the replay when the storage does not answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.rooms.replays import handlers
from services.rooms.replays.retention import announce_left_behind, delete_expired
from shared.cloud.port import CloudUnavailable
from shared.contracts import (
    CloseReason,
    DeleteReplay,
    HideReplay,
    ListReplays,
    RecordingSaved,
    Room,
    RoomClosed,
    RoomStatus,
)
from shared.errors import DomainError
from tests.fakes.publisher import RecordingPublisher
from tests.fakes.replays import InMemoryReplays
from tests.fakes.rooms_store import InMemoryRooms

RETENTION = timedelta(days=30)
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Storage:
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.down = False

    async def delete_recording(self, location: str, file_id: str | None) -> None:
        if self.down:
            raise CloudUnavailable("no answer")
        self.deleted.append(location)


async def a_room(rooms: InMemoryRooms, room_id: str = "r1", anchor: str = "a1", **changes: object) -> Room:
    room = Room(id=room_id, anchor_id=anchor, title="t", cover_url="https://x/c", status=RoomStatus.ACTIVE,
                created_at=T0, activated_at=T0, stream_id=f"s-{room_id}").model_copy(update=changes)
    await rooms.insert(room, [])
    return room


def recording(stream: str, minute: int) -> RecordingSaved:
    return RecordingSaved(stream_id=stream, source="nginx-rtmp", location=f"{stream}/{stream}-{minute}.mp4",
                          started_at=T0 + timedelta(minutes=minute), ended_at=T0 + timedelta(minutes=minute + 1),
                          duration_seconds=60, size_bytes=1000)


async def saved(event: RecordingSaved, rooms: InMemoryRooms, replays: InMemoryReplays,
                events: RecordingPublisher) -> str:
    replay = await handlers.recording_saved(event, rooms=rooms, replays=replays, events=events, retention=RETENTION)
    assert replay is not None
    return replay.id


async def test_a_recording_reported_twice_is_one_replay_announced_with_one_id() -> None:
    rooms, replays, events = InMemoryRooms(), InMemoryReplays(), RecordingPublisher()
    await a_room(rooms)
    first = await saved(recording("s-r1", 0), rooms, replays, events)
    again = await saved(recording("s-r1", 0), rooms, replays, events)
    assert first == again and len(replays.replays) == 1
    assert {e.id for e in events.events} == {f"{first}:ready"} and not replays.unannounced
    assert replays.replays[first].expires_at == T0 + timedelta(minutes=1) + RETENTION


async def test_a_recording_of_no_room_is_dropped() -> None:
    rooms, replays, events = InMemoryRooms(), InMemoryReplays(), RecordingPublisher()
    assert await handlers.recording_saved(recording("s-none", 0), rooms=rooms, replays=replays, events=events,
                                          retention=RETENTION) is None
    assert not replays.replays and not events.events


async def test_a_ban_hides_the_rooms_replays_from_all_but_moderators() -> None:
    rooms, replays, events = InMemoryRooms(), InMemoryReplays(), RecordingPublisher()
    room = await a_room(rooms)
    before = await saved(recording("s-r1", 0), rooms, replays, events)
    banned = room.model_copy(update={"status": RoomStatus.CLOSED, "close_reason": CloseReason.BANNED})
    await handlers.room_closed(RoomClosed(room=banned), replays=replays)
    rooms.docs["r1"].room = banned
    after = await saved(recording("s-r1", 2), rooms, replays, events)  # the last part lands after the ban

    viewer = await handlers.list_replays(ListReplays(room_id="r1"), replays=replays)
    moderator = await handlers.list_replays(ListReplays(room_id="r1", include_hidden=True), replays=replays)
    assert viewer.replays == [] and [r.id for r in moderator.replays] == [after, before]


async def test_moderators_hide_and_show_and_only_the_anchor_deletes() -> None:
    rooms, replays, events = InMemoryRooms(), InMemoryReplays(), RecordingPublisher()
    await a_room(rooms)
    replay_id = await saved(recording("s-r1", 0), rooms, replays, events)
    await handlers.hide_replay(HideReplay(replay_id=replay_id, moderator_id="m1"), replays=replays)
    assert (await handlers.list_replays(ListReplays(anchor_id="a1"), replays=replays)).replays == []
    await handlers.hide_replay(HideReplay(replay_id=replay_id, moderator_id="m1", hidden=False), replays=replays)
    assert len((await handlers.list_replays(ListReplays(anchor_id="a1"), replays=replays)).replays) == 1

    with pytest.raises(DomainError, match="only its anchor"):
        await handlers.delete_replay(DeleteReplay(replay_id=replay_id, actor_id="someone"), replays=replays)
    await handlers.delete_replay(DeleteReplay(replay_id=replay_id, actor_id="a1"), replays=replays)
    moderator = await handlers.list_replays(ListReplays(anchor_id="a1", include_hidden=True), replays=replays)
    assert moderator.replays == []  # deleted is gone for moderators too
    with pytest.raises(DomainError, match="no such replay"):
        await handlers.delete_replay(DeleteReplay(replay_id=replay_id, actor_id="a1"), replays=replays)


async def test_pages_are_newest_first_after_the_keyset() -> None:
    rooms, replays, events = InMemoryRooms(), InMemoryReplays(), RecordingPublisher()
    await a_room(rooms)
    ids = [await saved(recording("s-r1", minute), rooms, replays, events) for minute in range(5)]
    first = await handlers.list_replays(ListReplays(anchor_id="a1", limit=2), replays=replays)
    last = first.replays[-1]
    rest = await handlers.list_replays(ListReplays(anchor_id="a1", limit=10, before_started_at=last.started_at,
                                                   before_id=last.id), replays=replays)
    assert [r.id for r in first.replays + rest.replays] == ids[::-1] and first.more and not rest.more
    with pytest.raises(DomainError):
        await handlers.list_replays(ListReplays(anchor_id="a1", before_id=last.id), replays=replays)


async def test_retention_deletes_the_file_then_the_replay_and_waits_out_a_storage_outage() -> None:
    rooms, replays, events, storage = InMemoryRooms(), InMemoryReplays(), RecordingPublisher(), Storage()
    await a_room(rooms)
    old = await saved(recording("s-r1", 0), rooms, replays, events)
    await replays.update(old, expires_at=T0)  # its time is up
    kept = await saved(recording("s-r1", 5), rooms, replays, events)

    storage.down = True
    assert await delete_expired(replays, storage, events) == 0 and old in replays.replays
    storage.down = False
    assert await delete_expired(replays, storage, events) == 1
    assert storage.deleted == ["s-r1/s-r1-0.mp4"] and set(replays.replays) == {kept}
    assert events.events[-1].id == f"{old}:deleted" and events.events[-1].payload["reason"] == "retention"


async def test_an_announcement_the_broker_refused_is_sent_by_the_sweep() -> None:
    rooms, replays, events = InMemoryRooms(), InMemoryReplays(), RecordingPublisher()
    await a_room(rooms)
    events.refuse = True
    with pytest.raises(Exception, match="no confirm"):
        await saved(recording("s-r1", 0), rooms, replays, events)
    events.refuse = False
    replays.unannounced = {key: T0 for key in replays.unannounced}  # left behind a while ago
    assert await announce_left_behind(replays, events) == 1 and not replays.unannounced
    assert [e.type for e in events.events] == ["room.recording_ready"]
