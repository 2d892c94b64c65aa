"""One async function per rooms message: validate against the room's state, write, emit.

Each takes the message and only the ports it uses (services/rooms/ports.py); the bootstrap
wires them to the bus.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from services.rooms.domain import (
    PushMark,
    activation_fields,
    closing_fields,
    decide,
    next_push_mark,
    now_ms,
    stream_fields,
    stream_id_for,
    transitioned,
)
from services.rooms.ports import AnchorBans, AnchorHasOpenRoom, EventOutbox, RoomExists, RoomStore, StoredRoom
from shared.contracts.base import ErrorCode
from shared.contracts.codec import wrap
from shared.contracts.moderation import AnchorUnbanned
from shared.contracts.rooms import (
    ActivateRoom,
    AnchorRooms,
    BanAnchor,
    BannedRooms,
    CloseReason,
    CloseRoom,
    CreateRoom,
    GetRoom,
    GetRoomByStream,
    ListAnchorRooms,
    ListLiveRooms,
    LiveRoomPage,
    LiveState,
    Room,
    RoomActivated,
    RoomClosed,
    RoomCreated,
    RoomInterrupted,
    RoomResumed,
    RoomStatus,
)
from shared.errors import DomainError
from shared.metrics import ROOMS_CLOSED, ROOMS_STREAM_CHANGES

log = structlog.get_logger(__name__)

# A conditional update that loses a race is re-decided; more losses than this is a bug.
MAX_RACE_RETRIES = 5


def _event_id(room_id: str, event_type: str) -> str:
    # Each transition happens at most once per room, so (room, type) is a natural dedup key.
    return f"{room_id}:{event_type}"


async def create_room(cmd: CreateRoom, *, room_id: str, correlation_id: str | None, rooms: RoomStore,
                      bans: AnchorBans, events: EventOutbox, thumbnail_template: str | None = None) -> Room:
    """Four store round trips: the ban check, the insert (with its event), the ban check again,
    the outbox clear. `room_id` is the command's message id: a redelivered command finds its own
    room. The second ban check closes the window of a ban recorded between the first and the
    insert: a ban records first, then closes open rooms; a create inserts, then looks for a ban,
    so one of the two always sees the other."""
    structlog.contextvars.bind_contextvars(room_id=room_id)
    for _ in range(MAX_RACE_RETRIES):
        banned_until = await bans.banned_until(cmd.anchor_id)
        if banned_until is not None:
            raise DomainError(ErrorCode.CONFLICT, "the anchor is banned", banned_until=banned_until.isoformat())
        stream_id = stream_id_for(room_id)
        room = Room(
            id=room_id, anchor_id=cmd.anchor_id, title=cmd.title, cover_url=cmd.cover_url, location=cmd.location,
            category=cmd.category, status=RoomStatus.UNACTIVE, created_at=now_ms(), stream_id=stream_id,
            thumbnail_url=thumbnail_template.format(stream_id=stream_id) if thumbnail_template else None,
        )
        event = wrap(RoomCreated(room=room), correlation_id=correlation_id,
                     message_id=_event_id(room_id, RoomCreated.TYPE))
        try:
            await rooms.insert(room, [event])
        except RoomExists:
            existing = await rooms.get(room_id)
            if existing is None:
                continue
            return existing  # a redelivery: any event still queued is left to the outbox sweep
        except AnchorHasOpenRoom as exc:
            open_room = await rooms.find_open_by_anchor(cmd.anchor_id)
            if open_room is None:
                continue  # it closed in between: try again
            raise DomainError(ErrorCode.CONFLICT, "the anchor already has an open room",
                              open_room_id=open_room.id) from exc
        log.info("room.created", anchor_id=cmd.anchor_id, stream_id=room.stream_id)
        await events.flush(room_id, room.version, [event])
        banned_until = await bans.banned_until(cmd.anchor_id)
        if banned_until is not None:
            await _close(room_id, CloseReason.BANNED, None, correlation_id, rooms, events)
            raise DomainError(ErrorCode.CONFLICT, "the anchor is banned", banned_until=banned_until.isoformat())
        return room
    raise RuntimeError("create kept racing with close")


async def _transition(room_id: str, target: RoomStatus, actor_id: str | None,
                      fields: Callable[[StoredRoom], dict[str, object]],
                      event_model: type[RoomActivated] | type[RoomClosed], correlation_id: str | None,
                      rooms: RoomStore, events: EventOutbox) -> Room:
    """Three store round trips: read, conditional write (with its event), outbox clear."""
    structlog.contextvars.bind_contextvars(room_id=room_id)
    for _ in range(MAX_RACE_RETRIES):
        stored = await rooms.get_for_write(room_id)
        room = stored.room if stored else None
        if not decide(room, target, actor_id=actor_id).apply:
            assert room is not None
            # Only the writer flushes: concurrent repeats would publish duplicates. An event a
            # crash left queued is published by the outbox sweep.
            return room
        assert stored is not None and room is not None
        after = transitioned(room, target, fields(stored))
        event = wrap(event_model(room=after), correlation_id=correlation_id,
                     message_id=_event_id(room_id, event_model.TYPE))
        if not await rooms.transition(room, after, event):
            continue  # a concurrent change won; decide again on the new state
        log.info(event_model.TYPE, status_from=room.status.value, close_reason=after.close_reason,
                 stream_state=after.stream_state)
        if after.close_reason is not None:
            ROOMS_CLOSED.labels(after.close_reason.value).inc()
        await events.flush(room_id, after.version, [*stored.outbox, event])
        return after
    raise RuntimeError(f"transition of {room_id} kept racing")


async def activate_room(cmd: ActivateRoom, *, correlation_id: str | None, rooms: RoomStore,
                        events: EventOutbox) -> Room:
    at = now_ms()
    return await _transition(cmd.room_id, RoomStatus.ACTIVE, cmd.actor_id, lambda s: activation_fields(s.push, at),
                             RoomActivated, correlation_id, rooms, events)


async def _close(room_id: str, reason: CloseReason, actor_id: str | None, correlation_id: str | None,
                 rooms: RoomStore, events: EventOutbox) -> Room:
    fields = closing_fields(reason, now_ms())
    return await _transition(room_id, RoomStatus.CLOSED, actor_id, lambda _: fields, RoomClosed, correlation_id,
                             rooms, events)


async def close_room(cmd: CloseRoom, *, correlation_id: str | None, rooms: RoomStore, events: EventOutbox) -> Room:
    return await _close(cmd.room_id, cmd.reason, cmd.actor_id, correlation_id, rooms, events)


async def ban_anchor(cmd: BanAnchor, *, correlation_id: str | None, rooms: RoomStore, bans: AnchorBans,
                     events: EventOutbox) -> BannedRooms:
    """Record the ban first (from here on no create passes), then close the anchor's open room:
    no moment is left where the anchor is banned on paper and on air in a room of its own."""
    structlog.contextvars.bind_contextvars(anchor_id=cmd.anchor_id, ban_id=cmd.ban_id)
    await bans.record(cmd.anchor_id, cmd.until, cmd.reason, cmd.ban_id)
    closed: list[Room] = []
    while (open_room := await rooms.find_open_by_anchor(cmd.anchor_id)) is not None:
        closed.append(await _close(open_room.id, CloseReason.BANNED, None, correlation_id, rooms, events))
    log.warning("anchor.banned", until=cmd.until.isoformat(), closed=[room.id for room in closed])
    return BannedRooms(closed=closed)


# --- pushes ---------------------------------------------------------------------------------


async def push_reported(stored_room: Callable[[], Awaitable[StoredRoom | None]], report: PushMark, *,
                        correlation_id: str | None, rooms: RoomStore, events: EventOutbox) -> Room | None:
    """A push started or stopped (the media server's hooks, Tencent's callbacks) or a poll saw it
    on or off: an active room becomes `interrupted` or `live` again at once. Late, repeated and
    out-of-order reports change nothing (`next_push_mark`). Unactive rooms keep the mark, so an
    activation after the push already stopped starts interrupted. Returns the room if it changed."""
    for _ in range(MAX_RACE_RETRIES):
        stored = await stored_room()
        if stored is None or stored.room.status is RoomStatus.CLOSED:
            return None
        mark = next_push_mark(stored.push, report)
        if mark is None:
            return None
        room = stored.room
        structlog.contextvars.bind_contextvars(room_id=room.id)
        fields = stream_fields(mark) if room.status is RoomStatus.ACTIVE else {}
        after = room.model_copy(update={**fields, "version": room.version + 1})
        event = None
        model = RoomResumed if after.stream_state is LiveState.LIVE else RoomInterrupted
        if after.stream_state is not room.stream_state:
            event = wrap(model(room=after), correlation_id=correlation_id,
                         message_id=f"{_event_id(room.id, model.TYPE)}:{after.version}")
        if not await rooms.transition(room, after, event, mark):
            continue
        if event is None:
            return None
        log.info(event.type, session=mark.session, at=mark.at.isoformat())
        ROOMS_STREAM_CHANGES.labels("live" if model is RoomResumed else "interrupted").inc()
        await events.flush(room.id, after.version, [*stored.outbox, event])
        return after
    raise RuntimeError("a push report kept racing")


async def get_room(query: GetRoom, *, rooms: RoomStore) -> Room:
    room = await rooms.get(query.room_id)
    if room is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such room")
    return room


async def get_room_by_stream(query: GetRoomByStream, *, rooms: RoomStore) -> Room:
    room = await rooms.get_by_stream(query.stream_id)
    if room is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no room has this stream")
    return room


async def anchor_rooms(query: ListAnchorRooms, *, rooms: RoomStore) -> AnchorRooms:
    return AnchorRooms(rooms=await rooms.of_anchor(query.anchor_id, query.limit))


async def list_live_rooms(query: ListLiveRooms, *, rooms: RoomStore) -> LiveRoomPage:
    page = await rooms.live_page(query.limit, query.after_id)
    return LiveRoomPage(rooms=page, last_id=page[-1].id if len(page) == query.limit else None)


async def anchor_unbanned(event: AnchorUnbanned, *, bans: AnchorBans) -> None:
    await bans.lift(event.anchor_id)
    log.info("anchor.unbanned", anchor_id=event.anchor_id)
