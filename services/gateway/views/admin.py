"""HTTP API v1 for moderators (JWT `role: "admin"`): bans, detection cases, unbans. Each route is
a request to the moderation service (`shared.clients.ModerationClient`)."""

from __future__ import annotations

from aiohttp import web

from services.gateway.http.answers import BanAccepted, Unbanned
from services.gateway.http.requests import BanBody, CasesQuery, ResolveBody, parse_json_body, parse_query
from services.gateway.http.serving import Route, correlation_id
from services.gateway.ports import Moderation
from services.gateway.views.common import Caller, command_id, path_id


def _json(body: str) -> web.Response:
    return web.Response(text=body, content_type="application/json")


class AdminViews:
    def __init__(self, caller: Caller, moderation: Moderation) -> None:
        self._caller, self._moderation = caller, moderation

    def routes(self) -> list[Route]:
        return [Route("POST", "/v1/admin/rooms/{room_id}/ban", self.ban_room),
                Route("GET", "/v1/admin/cases", self.cases),
                Route("POST", "/v1/admin/cases/{case_id}/resolve", self.resolve_case),
                Route("POST", "/v1/admin/anchors/{anchor_id}/unban", self.unban_anchor)]

    async def ban_room(self, request: web.Request) -> web.Response:
        """202 once the ban is in force: recorded (the anchor can no longer create, activate or push)
        and every open room of the anchor closed; the pushes are cut right after, by the closes."""
        user = self._caller.moderator(request)
        room_id = path_id(request, "room_id")
        body = await parse_json_body(request, BanBody)
        accepted = await self._moderation.ban_room(room_id, reason=body.reason, duration_hours=body.duration_hours,
                                                   by=user.user_id, command_id=command_id(request, user),
                                                   correlation_id=correlation_id(request))
        return BanAccepted(ban_id=accepted.ban_id, room_id=room_id, anchor_id=accepted.anchor_id,
                           banned_until=accepted.until, closed_room_ids=accepted.closed_room_ids,
                           status="accepted").response(202)

    async def cases(self, request: web.Request) -> web.Response:
        self._caller.moderator(request)
        query = parse_query(request, CasesQuery)
        page = await self._moderation.cases(status=query.status, limit=query.limit,
                                            correlation_id=correlation_id(request))
        return _json(page.model_dump_json())

    async def resolve_case(self, request: web.Request) -> web.Response:
        user = self._caller.moderator(request)
        case_id = path_id(request, "case_id")
        body = await parse_json_body(request, ResolveBody)
        case = await self._moderation.resolve_case(case_id, action=body.action, by=user.user_id, reason=body.reason,
                                                   duration_hours=body.duration_hours,
                                                   correlation_id=correlation_id(request))
        return _json(case.model_dump_json())

    async def unban_anchor(self, request: web.Request) -> web.Response:
        user = self._caller.moderator(request)
        anchor_id = path_id(request, "anchor_id")
        await self._moderation.unban_anchor(anchor_id, by=user.user_id, correlation_id=correlation_id(request))
        return Unbanned(anchor_id=anchor_id, banned=False).response()
