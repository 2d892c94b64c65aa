"""One function per replays message. A recording becomes a replay of the room its stream
belongs to; its anchor may delete it, a moderator hide it; a ban hides its room's replays from
everyone but moderators (kept as evidence)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import structlog

from services.rooms.domain import now_ms
from services.rooms.ports import EventPublisher, RoomStore
from services.rooms.replays.store import ReplayStore
from shared.contracts import (
    CloseReason,
    DeleteReplay,
    HideReplay,
    ListReplays,
    RecordingReady,
    RecordingSaved,
    Replay,
    ReplayPage,
    RoomClosed,
)
from shared.contracts.base import ErrorCode
from shared.errors import DomainError

log = structlog.get_logger(__name__)


def replay_id(source: str, location: str) -> str:
    """Stable per recording: the same report twice (a retried hook, a redelivery) is one replay."""
    return hashlib.sha256(f"{source}\n{location}".encode()).hexdigest()[:24]


async def announce(replay: Replay, *, replays: ReplayStore, events: EventPublisher) -> None:
    await events.publish_event(RecordingReady(replay=replay), message_id=f"{replay.id}:ready")
    await replays.announced(replay.id)


async def recording_saved(event: RecordingSaved, *, rooms: RoomStore, replays: ReplayStore,
                          events: EventPublisher, retention: timedelta) -> Replay | None:
    room = await rooms.get_by_stream(event.stream_id)
    if room is None:  # a push refused at once still leaves a file behind on some media servers
        log.warning("replay.no_room", stream_id=event.stream_id, location=event.location)
        return None
    replay = Replay(id=replay_id(event.source, event.location), room_id=room.id, anchor_id=room.anchor_id,
                    stream_id=event.stream_id, source=event.source, location=event.location, file_id=event.file_id,
                    started_at=event.started_at, ended_at=event.ended_at, duration_seconds=event.duration_seconds,
                    size_bytes=event.size_bytes, banned=room.close_reason is CloseReason.BANNED,
                    expires_at=event.ended_at + retention)
    inserted = await replays.insert(replay, unannounced_since=now_ms())
    if not inserted:
        replay = await replays.get(replay.id) or replay
    elif not replay.banned and (after := await rooms.get(room.id)) is not None \
            and after.close_reason is CloseReason.BANNED:
        await replays.ban_room(room.id)  # a ban that landed between the read and the insert
    log.info("replay.saved", replay_id=replay.id, room_id=room.id, duration=event.duration_seconds, new=inserted)
    await announce(replay, replays=replays, events=events)
    return replay


async def room_closed(event: RoomClosed, *, replays: ReplayStore) -> None:
    if event.room.close_reason is CloseReason.BANNED:
        hidden = await replays.ban_room(event.room.id)
        log.info("replays.banned", room_id=event.room.id, hidden=hidden)


async def list_replays(query: ListReplays, *, replays: ReplayStore) -> ReplayPage:
    if (query.anchor_id is None) == (query.room_id is None):
        raise DomainError(ErrorCode.INVALID, "name an anchor or a room")
    if (query.before_started_at is None) != (query.before_id is None):
        raise DomainError(ErrorCode.INVALID, "a page starts after both the time and the id of a replay")
    before = (query.before_started_at, query.before_id) if query.before_started_at and query.before_id else None
    found = await replays.page(anchor_id=query.anchor_id, room_id=query.room_id, limit=query.limit + 1,
                               before=before, include_hidden=query.include_hidden)
    return ReplayPage(replays=found[:query.limit], more=len(found) > query.limit)


async def _existing(replay_id: str, replays: ReplayStore) -> Replay:
    replay = await replays.get(replay_id)
    if replay is None or replay.deleted_at is not None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such replay")
    return replay


async def delete_replay(cmd: DeleteReplay, *, replays: ReplayStore) -> Replay:
    """Gone for everyone at once; its file goes with the next retention sweep. A retried delete
    of one already deleted answers not found (the client's retry sees it gone)."""
    replay = await _existing(cmd.replay_id, replays)
    if replay.anchor_id != cmd.actor_id:
        raise DomainError(ErrorCode.FORBIDDEN, "only its anchor can delete a replay")
    now = now_ms()
    deleted = await replays.update(replay.id, deleted_at=now, expires_at=now)
    log.info("replay.deleted", replay_id=replay.id, room_id=replay.room_id)
    return deleted or replay


async def hide_replay(cmd: HideReplay, *, replays: ReplayStore) -> Replay:
    replay = await _existing(cmd.replay_id, replays)
    changed = await replays.update(replay.id, hidden_by=cmd.moderator_id if cmd.hidden else None)
    log.info("replay.hidden" if cmd.hidden else "replay.shown", replay_id=replay.id, moderator_id=cmd.moderator_id)
    return changed or replay
