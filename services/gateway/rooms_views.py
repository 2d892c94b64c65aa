"""HTTP API v1 for rooms: create, activate, close, get, list.

Reads come from the gateway's room directory (memory); writes go to the rooms service, and
their replies are applied to this gateway's directory at once (the anchor reads its own write).
"""

from __future__ import annotations

from aiohttp import web

from services.gateway.context import DIRECTORY, LIMITER, LISTER, QUIET_ACCESS_LOG, SIGNER
from services.gateway.directory import CursorExpired
from services.gateway.handling import ask, idempotent_id, path_id, principal
from services.gateway.problems import Problem
from services.gateway.schemas import CreateRoomBody, ListSort, parse_json_body, parse_list_query
from shared.contracts import ActivateRoom, CloseReason, CloseRoom, CreateRoom, GetRoom

routes = web.RouteTableDef()


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


async def _write(request: web.Request, command: ActivateRoom | CloseRoom) -> web.Response:
    room = await ask(request, command)
    request.app[DIRECTORY].apply(room)  # read-your-writes on this replica
    return _json(request.app[LISTER].room(room))


@routes.post("/v1/rooms")
async def create_room(request: web.Request) -> web.Response:
    user = principal(request)
    request.app[LIMITER].check("create", user.user_id)
    body = await parse_json_body(request, CreateRoomBody)
    message_id = idempotent_id(request, user)
    command = CreateRoom(anchor_id=user.user_id, title=body.title, cover_url=str(body.cover_url),
                         location=body.location)
    room = await ask(request, command, message_id=message_id)
    push = request.app[SIGNER].push_url(room.stream_id)
    head = b'{"room":%s,"push_url":"%s","push_url_expires_at":"%s"}'
    return _json(head % (request.app[LISTER].room(room), push.url.encode(), push.expires_at.isoformat().encode()),
                 status=201)


@routes.post("/v1/rooms/{room_id}/activate")
async def activate_room(request: web.Request) -> web.Response:
    user = principal(request)
    request.app[LIMITER].check("write", user.user_id)
    return await _write(request, ActivateRoom(room_id=path_id(request, "room_id"), actor_id=user.user_id))


@routes.post("/v1/rooms/{room_id}/close")
async def close_room(request: web.Request) -> web.Response:
    user = principal(request)
    request.app[LIMITER].check("write", user.user_id)
    return await _write(request, CloseRoom(room_id=path_id(request, "room_id"), reason=CloseReason.ANCHOR,
                                           actor_id=user.user_id))


@routes.get("/v1/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    user = principal(request)
    request[QUIET_ACCESS_LOG] = True
    room_id = path_id(request, "room_id")
    room = request.app[DIRECTORY].get(room_id)
    if room is None:  # not live, not closed recently: ask the rooms service (its query queue)
        request.app[LIMITER].check("lookup", user.user_id)
        room = await ask(request, GetRoom(room_id=room_id))
    return _json(request.app[LISTER].room(room))


@routes.get("/v1/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    """Live rooms, `sort=new` (default), `hot` or `near` (`lat`, `lng`); `cursor` for the next page."""
    principal(request)
    request[QUIET_ACCESS_LOG] = True
    query = parse_list_query(request)
    if not request.app[DIRECTORY].loaded:
        raise Problem(503, "unavailable", "Service unavailable", "the room directory is loading; retry shortly")
    lister = request.app[LISTER]
    if query.sort is ListSort.NEW:
        return _json(lister.newest(query.limit, query.cursor))
    if query.sort is ListSort.HOT:
        try:
            return _json(lister.hot(query.limit, query.cursor))
        except CursorExpired:
            raise Problem(400, "cursor-expired", "Cursor expired",
                          "the ranking this cursor belongs to is gone: load the first page again") from None
    assert query.lat is not None and query.lng is not None
    return _json(lister.near(query.lat, query.lng, query.limit, query.cursor))
