"""HTTP API v1 for rooms: create, activate, close, get, list.

Reads come from the gateway's room directory (memory); writes go to the rooms service, and
their replies are applied to this gateway's directory at once (the anchor reads its own write).
"""

from __future__ import annotations

from aiohttp import web

from services.gateway.directory import RoomDirectory, RoomLister
from services.gateway.http.answers import CreatedRoom, RoomView, room_view
from services.gateway.http.problems import not_found, unavailable
from services.gateway.http.requests import CreateRoomBody, ListSort, parse_json_body, parse_list_query
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
                 signer: UrlSigner, replays: ReplayViews) -> None:
        self._caller, self._rooms, self._directory = caller, rooms, directory
        self._lister, self._signer, self._replays = lister, signer, replays

    def routes(self) -> list[Route]:
        return [Route("POST", "/v1/rooms", self.create),
                Route("GET", "/v1/rooms", self.list, quiet=True),
                Route("GET", "/v1/rooms/{room_id}", self.get, quiet=True),
                Route("POST", "/v1/rooms/{room_id}/activate", self.activate),
                Route("POST", "/v1/rooms/{room_id}/close", self.close)]

    async def create(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "create")
        body = await parse_json_body(request, CreateRoomBody)
        room = await self._rooms.create(user.user_id, title=body.title, cover_url=str(body.cover_url),
                                        location=body.location, command_id=command_id(request, user),
                                        correlation_id=correlation_id())
        push = self._signer.push_url(room.stream_id)
        created = CreatedRoom(room=RoomView.model_validate_json(self._lister.room(room)), push_url=push.url,
                              push_url_expires_at=push.expires_at)
        return created.response(201)

    async def activate(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "write")
        room = await self._rooms.activate(path_id(request, "room_id"), actor_id=user.user_id,
                                          correlation_id=correlation_id())
        return self._written(room)

    async def close(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "write")
        room = await self._rooms.close(path_id(request, "room_id"), reason=CloseReason.ANCHOR, actor_id=user.user_id,
                                       correlation_id=correlation_id())
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
            room = await self._rooms.get(room_id, correlation_id=correlation_id())
            if room is None:
                raise not_found("room")
        if room.status is RoomStatus.CLOSED:  # the show can be watched again: its recorded parts
            replays = await self._replays.of_room(room.id, moderator=user.is_admin)
            return _json(room_view(room, None, replays).model_dump_json().encode())
        return _json(self._lister.room(room))

    async def list(self, request: web.Request) -> web.Response:
        """Live rooms, `sort=new` (default), `hot` or `near` (`lat`, `lng`); `cursor` for the next page."""
        self._caller.user(request)
        query = parse_list_query(request)
        if not self._directory.loaded:
            raise unavailable("the room directory is loading; retry shortly")
        if query.sort is ListSort.NEW:
            return _json(self._lister.newest(query.limit, query.cursor))
        if query.sort is ListSort.HOT:
            return _json(self._lister.hot(query.limit, query.cursor))
        assert query.lat is not None and query.lng is not None
        return _json(self._lister.near(query.lat, query.lng, query.limit, query.cursor))
