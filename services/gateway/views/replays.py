"""HTTP API v1 for replays: an anchor's replays (newest first, keyset cursors like the list), the
anchor's delete, and moderators' hide and show. Each route asks the rooms service; every URL
handed out is signed here (shared/signing.py `replay_url`)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from services.gateway.directory.cursors import CursorCodec, ReplayCursor
from services.gateway.http.answers import ReplayList, ReplayView
from services.gateway.http.requests import ReplaysQuery, parse_query
from services.gateway.http.serving import Route, correlation_id
from services.gateway.ports import Replays
from services.gateway.views.common import Caller, path_id
from shared.contracts import ListReplays, Replay
from shared.signing import UrlSigner


class ReplayViews:
    def __init__(self, caller: Caller, replays: Replays, signer: UrlSigner, cursors: CursorCodec) -> None:
        self._caller, self._replays, self._signer, self._cursors = caller, replays, signer, cursors

    def routes(self) -> list[Route]:
        return [Route("GET", "/v1/anchors/{anchor_id}/replays", self.anchor_replays),
                Route("DELETE", "/v1/replays/{replay_id}", self.delete),
                Route("POST", "/v1/admin/replays/{replay_id}/hide", self.hide),
                Route("POST", "/v1/admin/replays/{replay_id}/show", self.show)]

    def view(self, replay: Replay, *, moderator: bool) -> ReplayView:
        signed = self._signer.replay_url(replay.location)
        return ReplayView(id=replay.id, room_id=replay.room_id, anchor_id=replay.anchor_id, url=signed.url,
                          url_expires_at=signed.expires_at, started_at=replay.started_at, ended_at=replay.ended_at,
                          duration_seconds=replay.duration_seconds, size_bytes=replay.size_bytes,
                          hidden=moderator and replay.hidden)

    async def of_room(self, room_id: str, *, moderator: bool, correlation_id: str) -> list[ReplayView]:
        """A closed room's parts, in order (a show has a few: one per push session)."""
        page = await self._replays.replays(ListReplays(room_id=room_id, limit=100, include_hidden=moderator),
                                           correlation_id=correlation_id)
        return [self.view(replay, moderator=moderator) for replay in reversed(page.replays)]

    async def anchor_replays(self, request: web.Request) -> web.Response:
        user = self._caller.user(request, "lookup")
        anchor_id = path_id(request, "anchor_id")
        query = parse_query(request, ReplaysQuery)
        after = self._cursors.decode(query.cursor, ReplayCursor) if query.cursor else None
        assert after is None or isinstance(after, ReplayCursor)
        page = await self._replays.replays(ListReplays(
            anchor_id=anchor_id, limit=query.limit, include_hidden=user.is_admin,
            before_started_at=_from_ms(after.started_ms) if after else None,
            before_id=after.replay_id if after else None), correlation_id=correlation_id(request))
        last = page.replays[-1] if page.replays and page.more else None
        cursor = self._cursors.encode(ReplayCursor(_to_ms(last.started_at), last.id)) if last else None
        views = [self.view(replay, moderator=user.is_admin) for replay in page.replays]
        return ReplayList(replays=views, next_cursor=cursor).response()

    async def delete(self, request: web.Request) -> web.Response:
        """The anchor's own replay: gone for everyone at once, its file deleted soon after."""
        user = self._caller.user(request, "write")
        await self._replays.delete_replay(path_id(request, "replay_id"), actor_id=user.user_id,
                                          correlation_id=correlation_id(request))
        return web.Response(status=204)

    async def hide(self, request: web.Request) -> web.Response:
        return await self._set_hidden(request, hidden=True)

    async def show(self, request: web.Request) -> web.Response:
        return await self._set_hidden(request, hidden=False)

    async def _set_hidden(self, request: web.Request, *, hidden: bool) -> web.Response:
        user = self._caller.moderator(request)
        replay = await self._replays.hide_replay(path_id(request, "replay_id"), moderator_id=user.user_id,
                                                 hidden=hidden, correlation_id=correlation_id(request))
        return self.view(replay, moderator=True).response()


def _to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
