"""HTTP API v1 for rooms: create, activate, close, get (the list: `lists.py`).

Reads come from the gateway's room directory (memory); writes go to the rooms service, and
their replies are applied to this gateway's directory at once (the anchor reads its own write).
"""

from __future__ import annotations

from aiohttp import web

from services.gateway.directory import RoomDirectory, RoomLister
from services.gateway.http.answers import CreatedRoom, RoomView, room_view
from services.gateway.http.problems import not_found
from services.gateway.http.requests import CreateRoomBody, check_category, parse_json_body
from services.gateway.http.serving import Route, correlation_id
from services.gateway.ports import Rooms
from services.gateway.views.common import Caller, command_id, path_id
from services.gateway.views.replays import ReplayViews
from shared.contracts import CloseReason, Room, RoomStatus
from shared.signing import UrlSigner


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


class RoomViews:
    def __init__(self, caller: Caller, rooms: Rooms, directory: RoomDirectory, lister: RoomLister,
                 signer: UrlSigner, replays: ReplayViews, categories: tuple[str, ...]) -> None:
        self._caller, self._rooms, self._directory = caller, rooms, directory
        self._lister, self._signer, self._replays, self._categories = lister, signer, replays, categories

    def routes(self) -> list[Route]:
        return [Route("POST", "/v1/rooms", self.create),
                Route("GET", "/v1/rooms/{room_id}", self.get, quiet=True),
                Route("POST", "/v1/rooms/{room_id}/activate", self.activate),
                Route("POST", "/v1/rooms/{room_id}/close", self.close),
                Route("POST", "/v1/admin/rooms/{room_id}/close", self.close_as_moderator)]

    async def create(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "create")
        body = await parse_json_body(request, CreateRoomBody)
        check_category(body.category, self._categories)
        room = await self._rooms.create(user.user_id, title=body.title, cover_url=str(body.cover_url),
                                        location=body.location, category=body.category,
                                        command_id=command_id(request, user), correlation_id=correlation_id(request))
        push = self._signer.push_url(room.stream_id)
        created = CreatedRoom(room=RoomView.model_validate_json(self._lister.room(room)), push_url=push.url,
                              push_url_expires_at=push.expires_at)
        return created.response(201)

    async def activate(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "write")
        room = await self._rooms.activate(path_id(request, "room_id"), actor_id=user.user_id,
                                          correlation_id=correlation_id(request))
        return self._written(room)

    async def close(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "write")
        room = await self._rooms.close(path_id(request, "room_id"), reason=CloseReason.ANCHOR, actor_id=user.user_id,
                                       correlation_id=correlation_id(request))
        return self._written(room)

    async def close_as_moderator(self, request: web.Request) -> web.Response:
        """A moderator closes a room without banning its anchor (`close_reason` `moderator`): it
        leaves the list and its push is cut like any close; the anchor may open another."""
        self._caller.moderator(request)
        room = await self._rooms.close(path_id(request, "room_id"), reason=CloseReason.MODERATOR, actor_id=None,
                                       correlation_id=correlation_id(request))
        return self._written(room)

    def _written(self, room: Room) -> web.Response:
        self._directory.apply(room)  # read-your-writes on this replica
        return _json(self._lister.room(room))

    async def get(self, request: web.Request) -> web.Response:
        user = self._caller.user(request)
        room_id = path_id(request, "room_id")
        room = self._directory.get(room_id)
        if room is None:  # not live, not closed recently: ask the rooms service (its query queue)
            self._caller.limits.check("lookup", user.user_id)
            room = await self._rooms.get(room_id, correlation_id=correlation_id(request))
            if room is None:
                raise not_found("room")
        if room.status is RoomStatus.CLOSED:  # the show can be watched again: its recorded parts
            replays = await self._replays.of_room(room.id, moderator=user.is_admin,
                                                   correlation_id=correlation_id(request))
            return _json(room_view(room, None, replays).model_dump_json().encode())
        return _json(self._lister.room(room))
