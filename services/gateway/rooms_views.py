"""HTTP API v1 for rooms: create, activate, close, get, list."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from services.gateway.auth import Principal, authenticate
from services.gateway.context import BUS, REQUEST_ID, SETTINGS, SIGNER
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

# Idempotency-Key values map to stable command ids, so a retried create finds its room.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1d8c59-5a0e-4a57-9a3f-0b8f5f3c2d10")


def _principal(request: web.Request) -> Principal:
    return authenticate(request, request.app[SETTINGS].jwt_secret.get_secret_value())


async def _ask(request: web.Request, command: Contract, *, message_id: str | None = None) -> dict[str, Any] | None:
    app = request.app
    return await app[BUS].request(command, timeout=app[SETTINGS].request_timeout_seconds,
                                  correlation_id=request.get(REQUEST_ID), message_id=message_id)


def room_view(request: web.Request, room: Room) -> dict[str, Any]:
    """The client's view of a room: play URLs, signed by the server, only while it is live."""
    body = room.model_dump(mode="json")
    body["play_urls"] = request.app[SIGNER].play_urls(room.stream_id) if room.status is RoomStatus.ACTIVE else None
    return body


async def _room_reply(request: web.Request, command: Contract) -> web.Response:
    room = Room.model_validate(await _ask(request, command))
    return web.json_response(room_view(request, room))


def _room_id(request: web.Request) -> str:
    room_id = request.match_info["room_id"]
    if not (1 <= len(room_id) <= 64 and room_id.isascii() and room_id.isalnum()):
        raise web.HTTPNotFound(text="no such room")
    return room_id


@routes.post("/v1/rooms")
async def create_room(request: web.Request) -> web.Response:
    principal = _principal(request)
    body = await parse_json_body(request, CreateRoomBody)
    key = request.headers.get("Idempotency-Key")
    message_id = uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{principal.user_id}:{key}").hex if key else None
    command = CreateRoom(anchor_id=principal.user_id, title=body.title, cover_url=str(body.cover_url),
                         location=body.location)
    room = Room.model_validate(await _ask(request, command, message_id=message_id))
    push = request.app[SIGNER].push_url(room.stream_id)
    return web.json_response(
        {"room": room_view(request, room), "push_url": push.url, "push_url_expires_at": push.expires_at.isoformat()},
        status=201,
    )


@routes.post("/v1/rooms/{room_id}/activate")
async def activate_room(request: web.Request) -> web.Response:
    principal = _principal(request)
    return await _room_reply(request, ActivateRoom(room_id=_room_id(request), actor_id=principal.user_id))


@routes.post("/v1/rooms/{room_id}/close")
async def close_room(request: web.Request) -> web.Response:
    principal = _principal(request)
    return await _room_reply(request, CloseRoom(room_id=_room_id(request), reason=CloseReason.ANCHOR,
                                                actor_id=principal.user_id))


@routes.get("/v1/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    _principal(request)
    return await _room_reply(request, GetRoom(room_id=_room_id(request)))


@routes.get("/v1/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    _principal(request)
    query = parse_query(request, ListQuery)
    page = RoomPage.model_validate(await _ask(request, ListRooms(limit=query.limit, cursor=query.cursor)))
    return web.json_response({"rooms": [room_view(request, r) for r in page.rooms], "next_cursor": page.next_cursor})
