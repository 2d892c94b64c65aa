"""HTTP API v1 for viewers in a room: enter (viewers +1) and like (+1..50). Both count only while
the room is live (`live/on_air.py`) and are answered 202 once the broker has the increment
(`counters.py`), which reaches rooms in a batch and comes back to every viewer as `counters`."""

from __future__ import annotations

from aiohttp import web

from services.gateway.http.answers import CountAccepted
from services.gateway.http.problems import Problem, not_found
from services.gateway.http.requests import LikeBody, parse_json_body
from services.gateway.http.serving import Route, correlation_id
from services.gateway.live.on_air import OnAir
from services.gateway.ports import Counters
from services.gateway.views.common import Caller, idempotency_key, path_id
from shared.contracts import RoomStatus


class ViewerViews:
    def __init__(self, caller: Caller, on_air: OnAir, counters: Counters) -> None:
        self._caller, self._on_air, self._counters = caller, on_air, counters

    def routes(self) -> list[Route]:
        return [Route("POST", "/v1/rooms/{room_id}/viewers", self.enter, quiet=True),
                Route("POST", "/v1/rooms/{room_id}/likes", self.like, quiet=True)]

    async def enter(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "view")
        idempotency_key(request, user)  # validated like every write's (a bad one is a 422)
        room_id = await self._live_room(request)
        # `viewers` counts distinct viewers: one receipt per (room, user), whatever the client's key,
        # so entering again (or retrying) counts once. Receipts last a day (rooms' counter_store.py).
        await self._counters.add(room_id, viewers=1, key=f"{user.user_id}:viewer")
        return CountAccepted(room_id=room_id, accepted={"viewers": 1}).response(202)

    async def like(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "like")
        key = idempotency_key(request, user)
        count = (await parse_json_body(request, LikeBody)).count if request.body_exists else 1
        room_id = await self._live_room(request)
        await self._counters.add(room_id, likes=count, key=key, liker=user.user_id)
        return CountAccepted(room_id=room_id, accepted={"likes": count}).response(202)

    async def _live_room(self, request: web.Request) -> str:
        room_id = path_id(request, "room_id")
        status = await self._on_air.status(room_id, correlation_id(request))
        if status is None:
            raise not_found("room")
        if status is not RoomStatus.ACTIVE:
            raise Problem(409, "room-not-live", "Room not live", f"the room is {status.value}",
                          room_status=status.value)
        return room_id
