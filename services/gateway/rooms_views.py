"""HTTP API v1 for rooms: create, activate, close, get, list."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.context import SIGNER
from services.gateway.handling import ask, idempotent_id, path_id, principal
from services.gateway.schemas import CreateRoomBody, ListQuery, parse_json_body, parse_query
from shared.contracts import (
    ActivateRoom,
    CloseReason,
    CloseRoom,
    Contract,
    CreateRoom,
    GetRoom,
    ListRooms,
    Room,
    RoomPage,
    RoomStatus,
)

routes = web.RouteTableDef()


def room_view(request: web.Request, room: Room) -> dict[str, Any]:
    """The client's view of a room: play URLs, signed by the server, only while it is live."""
    body = room.model_dump(mode="json")
    body["play_urls"] = request.app[SIGNER].play_urls(room.stream_id) if room.status is RoomStatus.ACTIVE else None
    return body


async def _room_reply(request: web.Request, command: Contract) -> web.Response:
    room = Room.model_validate(await ask(request, command))
    return web.json_response(room_view(request, room))


@routes.post("/v1/rooms")
async def create_room(request: web.Request) -> web.Response:
    user = principal(request)
    body = await parse_json_body(request, CreateRoomBody)
    message_id = idempotent_id(request, user)
    command = CreateRoom(anchor_id=user.user_id, title=body.title, cover_url=str(body.cover_url),
                         location=body.location)
    room = Room.model_validate(await ask(request, command, message_id=message_id))
    push = request.app[SIGNER].push_url(room.stream_id)
    return web.json_response(
        {"room": room_view(request, room), "push_url": push.url, "push_url_expires_at": push.expires_at.isoformat()},
        status=201,
    )


@routes.post("/v1/rooms/{room_id}/activate")
async def activate_room(request: web.Request) -> web.Response:
    user = principal(request)
    return await _room_reply(request, ActivateRoom(room_id=path_id(request, "room_id"), actor_id=user.user_id))


@routes.post("/v1/rooms/{room_id}/close")
async def close_room(request: web.Request) -> web.Response:
    user = principal(request)
    return await _room_reply(request, CloseRoom(room_id=path_id(request, "room_id"), reason=CloseReason.ANCHOR,
                                                actor_id=user.user_id))


@routes.get("/v1/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    principal(request)
    return await _room_reply(request, GetRoom(room_id=path_id(request, "room_id")))


@routes.get("/v1/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    principal(request)
    query = parse_query(request, ListQuery)
    page = RoomPage.model_validate(await ask(request, ListRooms(limit=query.limit, cursor=query.cursor)))
    return web.json_response({"rooms": [room_view(request, r) for r in page.rooms], "next_cursor": page.next_cursor})
