"""The replays' upkeep: re-publish `room.recording_ready` a crash left unsent, and delete the
replays whose time is up (retention, or their anchor's delete): the file from storage first,
then the announcement, then the document, so a crash anywhere repeats the step, never skips it
(a delete of a file already gone succeeds; the event id is stable)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Protocol

import structlog

from services.rooms.domain import now_ms
from services.rooms.ports import EventPublisher
from services.rooms.replays.handlers import announce
from services.rooms.replays.store import ReplayStore
from shared.contracts import RecordingDeleted, Replay
from shared.failures import Transient

log = structlog.get_logger(__name__)


class RecordingStorage(Protocol):
    async def delete_recording(self, location: str, file_id: str | None) -> None:
        """Delete the file (a file already gone is deleted); raises a Transient failure."""


async def announce_left_behind(replays: ReplayStore, events: EventPublisher,
                               older_than: timedelta = timedelta(seconds=5)) -> int:
    left = await replays.unannounced_before(now_ms() - older_than)
    for replay in left:
        await announce(replay, replays=replays, events=events)
    return len(left)


async def delete_expired(replays: ReplayStore, storage: RecordingStorage, events: EventPublisher) -> int:
    deleted = 0
    for replay in await replays.due(now_ms()):
        try:
            await storage.delete_recording(replay.location, replay.file_id)
        except Transient as exc:
            log.warning("replay.delete_failed", replay_id=replay.id, error=str(exc))
            break  # storage is down: the next sweep tries again
        await events.publish_event(_deleted(replay), message_id=f"{replay.id}:deleted")
        await replays.remove(replay.id)
        deleted += 1
        log.info("replay.removed", replay_id=replay.id, room_id=replay.room_id,
                 reason="anchor" if replay.deleted_at else "retention")
    return deleted


def _deleted(replay: Replay) -> RecordingDeleted:
    return RecordingDeleted(replay_id=replay.id, room_id=replay.room_id, anchor_id=replay.anchor_id,
                            reason="anchor" if replay.deleted_at is not None else "retention")


async def run_upkeep(replays: ReplayStore, storage: RecordingStorage, events: EventPublisher, *,
                     every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            announced = await announce_left_behind(replays, events)
            deleted = await delete_expired(replays, storage, events)
            if announced or deleted:
                log.info("replays.upkeep", announced=announced, deleted=deleted)
        except Exception as exc:  # upkeep must outlive a passing outage
            log.warning("replays.upkeep_failed", error=repr(exc))
