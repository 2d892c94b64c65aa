"""HTTP API v1 for moderators (JWT `role: "admin"`): bans, detection cases, unbans."""

from __future__ import annotations

from aiohttp import web

from services.gateway.auth import Principal
from services.gateway.context import LIMITER
from services.gateway.handling import ask, idempotent_id, moderator, path_id
from services.gateway.schemas import BanBody, CasesQuery, ResolveBody, parse_json_body, parse_query
from shared.contracts import BanRoom, ListCases, ResolveCase, UnbanAnchor

routes = web.RouteTableDef()


def limited_moderator(request: web.Request) -> Principal:
    """A moderator, within the moderators' per-user limit (each of these routes is a round trip)."""
    user = moderator(request)
    request.app[LIMITER].check("moderate", user.user_id)
    return user


@routes.post("/v1/admin/rooms/{room_id}/ban")
async def ban_room(request: web.Request) -> web.Response:
    """202 once the ban is in force: recorded (the anchor can no longer create, activate or push)
    and every open room of the anchor closed; the pushes are cut right after, by the closes."""
    user = limited_moderator(request)
    room_id = path_id(request, "room_id")
    body = await parse_json_body(request, BanBody)
    accepted = await ask(request, BanRoom(room_id=room_id, reason=body.reason, duration_hours=body.duration_hours,
                                          by=user.user_id), message_id=idempotent_id(request, user))
    return web.json_response({"ban_id": accepted.ban_id, "room_id": room_id, "anchor_id": accepted.anchor_id,
                              "banned_until": accepted.until.isoformat(), "closed_room_ids": accepted.closed_room_ids,
                              "status": "accepted"}, status=202)


@routes.get("/v1/admin/cases")
async def list_cases(request: web.Request) -> web.Response:
    limited_moderator(request)
    query = parse_query(request, CasesQuery)
    page = await ask(request, ListCases(status=query.status, limit=query.limit))
    return web.json_response(page.model_dump(mode="json"))


@routes.post("/v1/admin/cases/{case_id}/resolve")
async def resolve_case(request: web.Request) -> web.Response:
    user = limited_moderator(request)
    case_id = path_id(request, "case_id")
    body = await parse_json_body(request, ResolveBody)
    case = await ask(request, ResolveCase(
        case_id=case_id, action=body.action, by=user.user_id, reason=body.reason, duration_hours=body.duration_hours))
    return web.json_response(case.model_dump(mode="json"))


@routes.post("/v1/admin/anchors/{anchor_id}/unban")
async def unban_anchor(request: web.Request) -> web.Response:
    user = limited_moderator(request)
    anchor_id = path_id(request, "anchor_id")
    await ask(request, UnbanAnchor(anchor_id=anchor_id, by=user.user_id))
    return web.json_response({"anchor_id": anchor_id, "banned": False})
