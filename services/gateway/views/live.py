"""HTTP API v1 live updates of a room (Server-Sent Events).

Server-Sent Events: one-way server-to-viewer, plain HTTP that passes proxies and CDNs,
reconnects on its own in every client, and needs no protocol upgrade; viewers' own actions are
ordinary POSTs anyway. Every event is one of the models in `http/answers.py` (`LIVE_EVENTS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from services.gateway.http.answers import CountersEvent, ExpiredEvent, closed_event, stream_event
from services.gateway.http.limits import StreamSlots
from services.gateway.http.problems import not_found
from services.gateway.http.serving import Route, correlation_id
from services.gateway.live.fanout import LiveRooms
from services.gateway.live.on_air import OnAir
from services.gateway.live.presence import Presence
from services.gateway.views.common import Caller, path_id
from shared.contracts import LiveState, RoomStatus


@dataclass(frozen=True)
class StreamPolicy:
    heartbeat_seconds: float
    updates_per_second: float


def _give_up_on_dead_peers(request: web.Request, heartbeat: float) -> None:
    """A phone that loses its network sends no FIN: the heartbeat is written into the void and
    TCP would retransmit it for many minutes. TCP_USER_TIMEOUT makes the kernel drop the
    connection once written data stays unacknowledged that long, so the stream (and its share
    of viewers_now) ends within two heartbeats."""
    sock = request.transport.get_extra_info("socket") if request.transport is not None else None
    if sock is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(heartbeat * 1000))


def connection_alive(request: web.Request) -> Callable[[], bool]:
    return lambda: request.transport is not None and not request.transport.is_closing()


async def open_event_stream(request: web.Request, heartbeat: float) -> web.StreamResponse:
    """A Server-Sent Events response, its headers sent, its dead-peer timeout set."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    _give_up_on_dead_peers(request, heartbeat)
    return response


class LiveUpdateViews:
    def __init__(self, caller: Caller, on_air: OnAir, live: LiveRooms, presence: Presence, slots: StreamSlots,
                 policy: StreamPolicy) -> None:
        self._caller, self._on_air, self._live, self._presence = caller, on_air, live, presence
        self._slots, self._policy = slots, policy

    def routes(self) -> list[Route]:
        return [Route("GET", "/v1/rooms/{room_id}/events", self.stream)]

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """`counters` events as the counts change (at most `ONAIR_LIVE_UPDATES_PER_SECOND`),
        `interrupted` when the anchor's push stops and `resumed` when it is back (also on connect to
        an interrupted room), then a final `closed` event when the room closes. Auth: the Bearer
        header or `?access_token=` (browsers' EventSource cannot send headers). The stream ends with
        an `expired` event within a heartbeat of the token's expiry: the client reconnects with a
        fresh one. Each stream counts in the room's `viewers_now` while it is open."""
        user = self._caller.user(request, "stream", allow_query=True)
        room_id = path_id(request, "room_id")
        room = await self._on_air.room(room_id, correlation_id(request))
        if room is None:
            raise not_found("room")
        slots, live, policy = self._slots, self._live, self._policy
        slots.acquire(user.user_id)
        # Joined before the first snapshot is sent, so no change falls between.
        viewer = live.join(room_id, user.user_id, connection_alive(request))
        response = web.StreamResponse()
        try:
            response = await open_event_stream(request, policy.heartbeat_seconds)
            await response.write(CountersEvent(viewers=room.viewers, viewers_now=self._presence.now(room_id),
                                               likes=room.likes, viewers_added=0, likes_added=0).sse())
            if room.status is RoomStatus.CLOSED:
                viewer.push_closed(closed_event(room))
            elif room.stream_state is LiveState.INTERRUPTED:
                viewer.push_stream(stream_event(room))
            min_gap = 1.0 / policy.updates_per_second
            while not viewer.gone:
                await viewer.wake.wait()  # a change, a heartbeat due, or the connection gone (LiveRooms.tick)
                if viewer.gone:
                    break
                if user.expires_at <= time.time():  # looked at least every heartbeat
                    await response.write(ExpiredEvent(detail="the token expired: reconnect with a fresh one").sse())
                    break
                counts, stream, closed, beat = viewer.take()
                if counts is not None:
                    await response.write(CountersEvent(**counts).sse())
                if stream is not None:
                    await response.write(stream.sse())
                if closed is not None:
                    await response.write(closed.sse())
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
