"""One async function per rooms command: validate against the room's state, write, emit."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from services.rooms.anchor_bans import AnchorBanView
from services.rooms.counter_store import CounterStore
from services.rooms.domain import closing_fields, decide, now_ms, stream_id_for, transitioned
from services.rooms.outbox import Outbox
from services.rooms.repository import AnchorHasOpenRoom, RoomExists, RoomRepository
from shared.bus import Bus, TypedHandler
from shared.contracts import (
    ActivateRoom,
    AnchorBanned,
    AnchorUnbanned,
    CloseRoom,
    Contract,
    CreateRoom,
    Envelope,
    ErrorCode,
    GetRoom,
    GetRoomByStream,
    ListLiveRooms,
    LiveRoomPage,
    Room,
    RoomActivated,
    RoomClosed,
    RoomCreated,
    RoomStatus,
    wrap,
)
from shared.errors import DomainError
from shared.metrics import ROOMS_CLOSED

log = structlog.get_logger(__name__)

# A conditional update that loses a race is re-decided; more losses than this is a bug.
MAX_RACE_RETRIES = 5


@dataclass(frozen=True)
class RoomsPorts:
    rooms: RoomRepository
    outbox: Outbox
    anchor_bans: AnchorBanView
    counters: CounterStore
    bus: Bus


def _event_id(room_id: str, event_type: str) -> str:
    # Each transition happens at most once per room, so (room, type) is a natural dedup key.
    return f"{room_id}:{event_type}"


async def create_room(env: Envelope, cmd: CreateRoom, ports: RoomsPorts) -> Room:
    """Three store round trips: the ban check, the insert (with its event), the outbox clear."""
    # The command's message id is the room id: a redelivered command finds its own room.
    room_id = env.id
    structlog.contextvars.bind_contextvars(room_id=room_id)
    for _ in range(MAX_RACE_RETRIES):
        banned_until = await ports.anchor_bans.banned_until(cmd.anchor_id)
        if banned_until is not None:
            raise DomainError(ErrorCode.CONFLICT, "the anchor is banned", banned_until=banned_until.isoformat())
        room = Room(
            id=room_id, anchor_id=cmd.anchor_id, title=cmd.title, cover_url=cmd.cover_url, location=cmd.location,
            status=RoomStatus.UNACTIVE, created_at=now_ms(), stream_id=stream_id_for(room_id),
        )
        event = wrap(RoomCreated(room=room), correlation_id=env.correlation_id,
                     message_id=_event_id(room_id, RoomCreated.TYPE))
        try:
            await ports.rooms.insert(room, [event])
        except RoomExists:
            existing = await ports.rooms.get(room_id)
            if existing is None:
                continue
            return existing  # a redelivery: any event still queued is left to the outbox sweep
        except AnchorHasOpenRoom as exc:
            open_room = await ports.rooms.find_open_by_anchor(cmd.anchor_id)
            if open_room is None:
                continue  # it closed in between: try again
            raise DomainError(ErrorCode.CONFLICT, "the anchor already has an open room",
                              open_room_id=open_room.id) from exc
        log.info("room.created", anchor_id=cmd.anchor_id, stream_id=room.stream_id)
        await ports.outbox.flush(room_id, room.version, [event])
        return room
    raise RuntimeError("create kept racing with close")


async def _transition(env: Envelope, room_id: str, target: RoomStatus, actor_id: str | None,
                      fields: dict[str, object], event_model: type[RoomActivated] | type[RoomClosed],
                      ports: RoomsPorts) -> Room:
    """Three store round trips: read, conditional write (with its event), outbox clear."""
    structlog.contextvars.bind_contextvars(room_id=room_id)
    for _ in range(MAX_RACE_RETRIES):
        stored = await ports.rooms.get_for_write(room_id)
        room = stored.room if stored else None
        if not decide(room, target, actor_id=actor_id).apply:
            assert room is not None
            # Only the writer flushes: concurrent repeats would publish duplicates. An event a
            # crash left queued is published by the outbox sweep.
            return room
        assert stored is not None and room is not None
        after = transitioned(room, target, fields)
        event = wrap(event_model(room=after), correlation_id=env.correlation_id,
                     message_id=_event_id(room_id, event_model.TYPE))
        if not await ports.rooms.transition(room, after, event):
            continue  # a concurrent change won; decide again on the new state
        log.info(event_model.TYPE, status_from=room.status.value, close_reason=fields.get("close_reason"))
        if after.close_reason is not None:
            ROOMS_CLOSED.labels(after.close_reason.value).inc()
        await ports.outbox.flush(room_id, after.version, [*stored.outbox, event])
        return after
    raise RuntimeError(f"transition of {room_id} kept racing")


async def activate_room(env: Envelope, cmd: ActivateRoom, ports: RoomsPorts) -> Room:
    return await _transition(env, cmd.room_id, RoomStatus.ACTIVE, cmd.actor_id, {"activated_at": now_ms()},
                             RoomActivated, ports)


async def close_room(env: Envelope, cmd: CloseRoom, ports: RoomsPorts) -> Room:
    return await _transition(env, cmd.room_id, RoomStatus.CLOSED, cmd.actor_id,
                             closing_fields(cmd.reason, now_ms()), RoomClosed, ports)


async def get_room(env: Envelope, cmd: GetRoom, ports: RoomsPorts) -> Room:
    room = await ports.rooms.get(cmd.room_id)
    if room is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such room")
    return room


async def get_room_by_stream(env: Envelope, cmd: GetRoomByStream, ports: RoomsPorts) -> Room:
    room = await ports.rooms.get_by_stream(cmd.stream_id)
    if room is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no room has this stream")
    return room


async def list_live_rooms(env: Envelope, query: ListLiveRooms, ports: RoomsPorts) -> LiveRoomPage:
    rooms = await ports.rooms.live_page(query.limit, query.after_id)
    return LiveRoomPage(rooms=rooms, last_id=rooms[-1].id if len(rooms) == query.limit else None)


async def anchor_banned(env: Envelope, event: AnchorBanned, ports: RoomsPorts) -> None:
    await ports.anchor_bans.record(event.anchor_id, event.until, event.reason, event.ban_id)
    log.info("anchor.banned", anchor_id=event.anchor_id, until=event.until.isoformat())


async def anchor_unbanned(env: Envelope, event: AnchorUnbanned, ports: RoomsPorts) -> None:
    await ports.anchor_bans.lift(event.anchor_id)
    log.info("anchor.unbanned", anchor_id=event.anchor_id)


HANDLERS: dict[type[Contract], TypedHandler[RoomsPorts]] = {
    CreateRoom: create_room,
    ActivateRoom: activate_room,
    CloseRoom: close_room,
}
# Reads: served from their own queue (non-persistent, never dead-lettered).
QUERY_HANDLERS: dict[type[Contract], TypedHandler[RoomsPorts]] = {
    GetRoom: get_room,
    GetRoomByStream: get_room_by_stream,
    ListLiveRooms: list_live_rooms,
}
# Events rooms reacts to (from moderation), on the same queue as its commands.
EVENT_HANDLERS: dict[type[Contract], TypedHandler[RoomsPorts]] = {
    AnchorBanned: anchor_banned,
    AnchorUnbanned: anchor_unbanned,
}
