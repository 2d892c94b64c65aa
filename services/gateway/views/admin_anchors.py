"""HTTP API v1 for moderators: an anchor's record (followers, rooms, bans) for the console's
anchor page. Three reads asked at once: rooms (the anchor, its rooms) and moderation (its bans)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.gateway.directory import RoomLister
from services.gateway.http.answers import RoomView
from services.gateway.http.follow_answers import BANS_SHOWN, ROOMS_SHOWN, AnchorRecord
from services.gateway.http.serving import Route, correlation_id
from services.gateway.ports import Follows, Moderation
from services.gateway.views.common import Caller, path_id


class AdminAnchorViews:
    def __init__(self, caller: Caller, follows: Follows, moderation: Moderation, lister: RoomLister) -> None:
        self._caller, self._follows, self._moderation, self._lister = caller, follows, moderation, lister

    def routes(self) -> list[Route]:
        return [Route("GET", "/v1/admin/anchors/{anchor_id}", self.record)]

    async def record(self, request: web.Request) -> web.Response:
        self._caller.moderator(request)
        anchor_id, cid = path_id(request, "anchor_id"), correlation_id(request)
        anchor, rooms, bans = await asyncio.gather(
            self._follows.anchor(anchor_id, correlation_id=cid),
            self._follows.anchor_rooms(anchor_id, limit=ROOMS_SHOWN, correlation_id=cid),
            self._moderation.anchor_bans(anchor_id, limit=BANS_SHOWN, correlation_id=cid))
        return AnchorRecord(anchor_id=anchor_id, followers=anchor.followers, banned_until=bans.banned_until,
                            rooms=[RoomView.model_validate_json(self._lister.room(room)) for room in rooms],
                            bans=bans.bans).response()
