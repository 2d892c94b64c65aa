"""HTTP API v1 for viewers in a room: enter (viewer +1), like (+1..50), and live updates (SSE).

Live updates are Server-Sent Events: one-way server-to-viewer, plain HTTP that passes proxies
and CDNs, reconnects on its own in every client, and needs no protocol upgrade; viewers' own
actions are ordinary POSTs anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.context import (
    COUNTERS,
    DIRECTORY,
    LIMITER,
    LIVE,
    PRESENCE,
    QUIET_ACCESS_LOG,
    ROOM_STATUS,
    SETTINGS,
    STREAM_SLOTS,
)
from services.gateway.handling import idempotency_key, path_id, principal, room_or_none
from services.gateway.problems import Problem
from services.gateway.schemas import WholeNumber, parse_json_body
from shared.contracts import LiveState, Room, RoomStatus

routes = web.RouteTableDef()

class LikeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    count: WholeNumber = Field(1, ge=1, le=50, description="Likes the app batched locally")


async def _fetch_room(request: web.Request, room_id: str) -> Room | None:
    """The room from the directory, or from the rooms service if the directory does not hold it."""
    known = request.app[DIRECTORY].get(room_id)
    if known is not None:
        return known
    return await room_or_none(request, room_id)


async def _live_room_id(request: web.Request) -> str:
    request[QUIET_ACCESS_LOG] = True
    room_id = path_id(request, "room_id")
    directory = request.app[DIRECTORY]
    if directory.live(room_id) is not None:
        return room_id
    status = RoomStatus.CLOSED if directory.closed(room_id) else await request.app[ROOM_STATUS].status(
        room_id, lambda: _fetch_room(request, room_id))
    if status is None:
        raise Problem(404, "not-found", "Not found", "no such room")
    if status is not RoomStatus.ACTIVE:
        raise Problem(409, "room-not-live", "Room not live", f"the room is {status.value}", room_status=status.value)
    return room_id


def _accepted(room_id: str, **counts: int) -> web.Response:
    return web.json_response({"room_id": room_id, "accepted": counts}, status=202)


@routes.post("/v1/rooms/{room_id}/viewers")
async def viewer_entered(request: web.Request) -> web.Response:
    user = principal(request)
    request.app[LIMITER].check("view", user.user_id)
    idempotency_key(request, user)  # validated like every write's (a bad one is a 422)
    room_id = await _live_room_id(request)
    # `viewers` counts distinct viewers: one receipt per (room, user), whatever the client's key,
    # so entering again (or retrying) counts once. Receipts last a day (counter_store.py).
    await request.app[COUNTERS].add(room_id, viewers=1, key=f"{user.user_id}:viewer")
    return _accepted(room_id, viewers=1)


@routes.post("/v1/rooms/{room_id}/likes")
async def liked(request: web.Request) -> web.Response:
    user = principal(request)
    request.app[LIMITER].check("like", user.user_id)
    key = idempotency_key(request, user)
    count = (await parse_json_body(request, LikeBody)).count if request.body_exists else 1
    room_id = await _live_room_id(request)
    await request.app[COUNTERS].add(room_id, likes=count, key=key, liker=user.user_id)
    return _accepted(room_id, likes=count)


def _give_up_on_dead_peers(request: web.Request, heartbeat: float) -> None:
    """A phone that loses its network sends no FIN: the heartbeat is written into the void and
    TCP would retransmit it for many minutes. TCP_USER_TIMEOUT makes the kernel drop the
    connection once written data stays unacknowledged that long, so the stream (and its share
    of viewers_now) ends within two heartbeats."""
    sock = request.transport.get_extra_info("socket") if request.transport is not None else None
    if sock is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(heartbeat * 1000))


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@routes.get("/v1/rooms/{room_id}/events")
async def room_events(request: web.Request) -> web.StreamResponse:
    """`counters` events as the counts change (at most `ONAIR_LIVE_UPDATES_PER_SECOND`),
    `interrupted` when the anchor's push stops and `resumed` when it is back (also on connect to
    an interrupted room), then a final `closed` event when the room closes. Auth: the Bearer
    header or `?access_token=` (browsers' EventSource cannot send headers). The stream ends with
    an `expired` event within a heartbeat of the token's expiry: the client reconnects with a
    fresh one. Each stream counts in the room's `viewers_now` while it is open."""
    user = principal(request, allow_query=True)
    request.app[LIMITER].check("stream", user.user_id)
    room_id = path_id(request, "room_id")
    room = await _fetch_room(request, room_id)
    if room is None:
        raise Problem(404, "not-found", "Not found", "no such room")
    slots, live, settings = request.app[STREAM_SLOTS], request.app[LIVE], request.app[SETTINGS]
    slots.acquire(user.user_id)
    # Joined before the first snapshot is sent, so no change falls between.
    viewer = live.join(room_id, user.user_id,
                       lambda: request.transport is not None and not request.transport.is_closing())
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    try:
        await response.prepare(request)
        _give_up_on_dead_peers(request, settings.sse_heartbeat_seconds)
        await response.write(_sse("counters", {"viewers": room.viewers,
                                               "viewers_now": request.app[PRESENCE].now(room_id),
                                               "likes": room.likes, "viewers_added": 0, "likes_added": 0}))
        if room.status is RoomStatus.CLOSED:
            viewer.push_closed(room)
        elif room.stream_state is LiveState.INTERRUPTED:
            viewer.push_stream(room)
        min_gap = 1.0 / settings.live_updates_per_second
        while not viewer.gone:
            await viewer.wake.wait()  # a change, a heartbeat due, or the connection gone (LiveRooms.tick)
            if viewer.gone:
                break
            if user.expires_at <= time.time():  # looked at least every heartbeat
                await response.write(_sse("expired", {"detail": "the token expired: reconnect with a fresh one"}))
                break
            counts, stream, closed, beat = viewer.take()
            if counts is not None:
                await response.write(_sse("counters", counts))
            if stream is not None:
                await response.write(_sse(*stream))
            if closed is not None:
                await response.write(_sse("closed", closed))
                break
            if counts is None and stream is None:
                if beat:
                    await response.write(b": keep-alive\n\n")
                continue
            await asyncio.sleep(min_gap)  # coalesce: what arrives meanwhile goes out as one update
    except ConnectionResetError:
        pass  # the viewer left
    finally:
        live.leave(room_id, viewer)
        slots.release(user.user_id)
    return response
