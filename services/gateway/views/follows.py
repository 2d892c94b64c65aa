"""HTTP API v1 for follows: follow and unfollow an anchor, the anchors one follows (with their
live rooms), an anchor's public view, and the viewer's own event stream (`followed_live`)."""

from __future__ import annotations

import time

from aiohttp import web

from services.gateway.directory import RoomDirectory, RoomLister
from services.gateway.directory.cursors import FollowingCursor
from services.gateway.follows.alerts import FollowerStreams
from services.gateway.follows.sets import FollowSets
from services.gateway.http.answers import ExpiredEvent, RoomView
from services.gateway.http.follow_answers import (
    AnchorView,
    FollowedAnchor,
    FollowedLiveEvent,
    Following,
    FollowingList,
)
from services.gateway.http.limits import StreamSlots
from services.gateway.http.requests import FollowingQuery, parse_query
from services.gateway.http.serving import Route, correlation_id
from services.gateway.ports import Follows
from services.gateway.views.common import Caller, path_id
from services.gateway.views.live import StreamPolicy, connection_alive, open_event_stream
from shared.contracts import AnchorFollowed


class FollowViews:
    def __init__(self, caller: Caller, follows: Follows, sets: FollowSets, alerts: FollowerStreams,
                 directory: RoomDirectory, lister: RoomLister, slots: StreamSlots, policy: StreamPolicy) -> None:
        self._caller, self._follows, self._sets, self._alerts = caller, follows, sets, alerts
        self._directory, self._lister, self._slots, self._policy = directory, lister, slots, policy

    def routes(self) -> list[Route]:
        return [Route("PUT", "/v1/me/following/{anchor_id}", self.follow),
                Route("DELETE", "/v1/me/following/{anchor_id}", self.unfollow),
                Route("GET", "/v1/me/following", self.following),
                Route("GET", "/v1/anchors/{anchor_id}", self.anchor),
                Route("GET", "/v1/me/events", self.events)]

    def _live_room(self, anchor_id: str) -> RoomView | None:
        entry = self._directory.of_anchor(anchor_id)
        if entry is None or not entry.listed:
            return None
        return RoomView.model_validate_json(self._lister.fragment(entry) + b"}")

    async def follow(self, request: web.Request) -> web.Response:
        return await self._set(request, following=True)

    async def unfollow(self, request: web.Request) -> web.Response:
        return await self._set(request, following=False)

    async def _set(self, request: web.Request, *, following: bool) -> web.Response:
        """Idempotent: following twice is following. This gateway's cached set changes at once
        (the viewer's next Following page shows it); the others' with the event."""
        user = self._caller.user(request, "write")
        anchor_id = path_id(request, "anchor_id")
        state = await self._follows.follow(user.user_id, anchor_id, following=following,
                                           correlation_id=correlation_id(request))
        self._sets.apply(AnchorFollowed(user_id=user.user_id, anchor_id=anchor_id, following=following))
        return Following(anchor_id=anchor_id, following=state.following, followers=state.followers).response()

    async def following(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "lookup")
        query = parse_query(request, FollowingQuery)
        after = self._lister.cursors.decode(query.cursor, FollowingCursor) if query.cursor else None
        page = await self._follows.following(user.user_id, limit=query.limit,
                                             after=after.anchor_id if isinstance(after, FollowingCursor) else None,
                                             correlation_id=correlation_id(request))
        anchors = [FollowedAnchor(anchor_id=a, live_room=self._live_room(a)) for a in page.anchor_ids]
        cursor = self._lister.cursors.encode(FollowingCursor(page.anchor_ids[-1])) if page.more else None
        return FollowingList(following=anchors, next_cursor=cursor).response()

    async def anchor(self, request: web.Request) -> web.Response:
        self._caller.user(request, "lookup")
        anchor = await self._follows.anchor(path_id(request, "anchor_id"), correlation_id=correlation_id(request))
        return AnchorView(anchor_id=anchor.anchor_id, followers=anchor.followers,
                          live_room=self._live_room(anchor.anchor_id), banned=anchor.banned_until is not None,
                          banned_until=anchor.banned_until).response()

    async def events(self, request: web.Request) -> web.StreamResponse:
        """`followed_live` when an anchor the viewer follows goes live (not when a push comes back
        within the grace; again when the anchor is back from a ban, in a new room). Token rules
        as the room's live updates (header or `?access_token=`, `expired` at its expiry)."""
        user = self._caller.user(request, "stream", allow_query=True)
        await self._sets.of(user.user_id)  # cached while the stream is open: the alerts read it
        self._slots.acquire(user.user_id)
        viewer = self._alerts.join(user.user_id, connection_alive(request))
        response = web.StreamResponse()
        try:
            response = await open_event_stream(request, self._policy.heartbeat_seconds)
            await response.write(b": connected\n\n")
            while not viewer.gone:
                await viewer.wake.wait()
                if viewer.gone:
                    break
                if user.expires_at <= time.time():
                    await response.write(ExpiredEvent(detail="the token expired: reconnect with a fresh one").sse())
                    break
                _, _, _, beat = viewer.take()
                notes = viewer.take_notes()
                for room in notes:
                    await response.write(FollowedLiveEvent(room=RoomView.model_validate_json(
                        self._lister.room(room))).sse())
                if not notes and beat:
                    await response.write(b": keep-alive\n\n")
        except ConnectionResetError:
            pass
        finally:
            self._alerts.leave(user.user_id, viewer)
            self._slots.release(user.user_id)
        return response
