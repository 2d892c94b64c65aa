"""Typed clients of the services that answer requests: what a caller needs, nothing of the bus.

One client per service, for every call to it. "No such thing" on a read is None; a write the
service refuses raises its DomainError (not found, not yours, not now), which callers translate
at their own boundary (the gateway: into a problem document)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar

from shared.contracts import (
    ActivateRoom,
    Anchor,
    AnchorBans,
    BanAccepted,
    BanAnchor,
    BanRoom,
    Case,
    CaseAction,
    CasePage,
    CaseStatus,
    CloseReason,
    CloseRoom,
    Contract,
    CreateRoom,
    DeleteReplay,
    ErrorCode,
    Follow,
    FollowingPage,
    FollowState,
    GetAnchor,
    GetRoom,
    GetRoomByStream,
    HideReplay,
    ListAnchorBans,
    ListAnchorRooms,
    ListCases,
    ListFollowing,
    ListLiveRooms,
    ListReplays,
    LiveRoomPage,
    Location,
    Replay,
    ReplayPage,
    Request,
    ResolveCase,
    Room,
    UnbanAnchor,
)
from shared.errors import DomainError

R = TypeVar("R", bound=Contract)


class Asker(Protocol):
    """What a client needs of the bus (`Bus.ask`)."""

    async def ask(self, request: Request[R], *, timeout: float, correlation_id: str | None = None,
                  message_id: str | None = None) -> R: ...


class _Client:
    def __init__(self, bus: Asker, *, timeout: float) -> None:
        self._bus = bus
        self._timeout = timeout

    async def _ask(self, request: Request[R], correlation_id: str | None, message_id: str | None = None,
                   timeout: float | None = None) -> R:
        return await self._bus.ask(request, timeout=timeout or self._timeout, correlation_id=correlation_id,
                                   message_id=message_id)


class RoomsClient(_Client):
    """The rooms service, asked over the bus."""

    async def _room_or_none(self, query: GetRoom | GetRoomByStream, correlation_id: str | None) -> Room | None:
        try:
            return await self._ask(query, correlation_id)
        except DomainError as exc:
            if exc.code is ErrorCode.NOT_FOUND:
                return None
            raise

    async def get(self, room_id: str, *, correlation_id: str | None = None) -> Room | None:
        return await self._room_or_none(GetRoom(room_id=room_id), correlation_id)

    async def get_by_stream(self, stream_id: str, *, correlation_id: str | None = None) -> Room | None:
        return await self._room_or_none(GetRoomByStream(stream_id=stream_id), correlation_id)

    async def create(self, anchor_id: str, *, title: str, cover_url: str, location: Location | None,
                     category: str | None = None, command_id: str | None = None,
                     correlation_id: str | None = None) -> Room:
        """A new unactive room (`command_id`: a retry with the same id is the same room)."""
        command = CreateRoom(anchor_id=anchor_id, title=title, cover_url=cover_url, location=location,
                             category=category)
        return await self._ask(command, correlation_id, command_id)

    async def activate(self, room_id: str, *, actor_id: str, correlation_id: str | None = None) -> Room:
        return await self._ask(ActivateRoom(room_id=room_id, actor_id=actor_id), correlation_id)

    async def close(self, room_id: str, *, reason: CloseReason, actor_id: str | None,
                    correlation_id: str | None = None) -> Room:
        return await self._ask(CloseRoom(room_id=room_id, reason=reason, actor_id=actor_id), correlation_id)

    async def live_page(self, *, after_id: str | None, limit: int = 5000, timeout: float | None = None) -> LiveRoomPage:
        """Active rooms ordered by id, `limit` at a time after `after_id`."""
        return await self._ask(ListLiveRooms(after_id=after_id, limit=limit), None, timeout=timeout)

    async def ban_anchor(self, anchor_id: str, *, ban_id: str, reason: str, until: datetime,
                         correlation_id: str | None = None) -> list[Room]:
        """Rooms records the anchor's ban (no create from now on) and closes its open rooms."""
        banned = await self._ask(BanAnchor(anchor_id=anchor_id, ban_id=ban_id, reason=reason, until=until),
                                 correlation_id, f"{ban_id}:rooms")
        return banned.closed


    async def replays(self, query: ListReplays, *, correlation_id: str | None = None) -> ReplayPage:
        return await self._ask(query, correlation_id)

    async def delete_replay(self, replay_id: str, *, actor_id: str, correlation_id: str | None = None) -> Replay:
        return await self._ask(DeleteReplay(replay_id=replay_id, actor_id=actor_id), correlation_id)

    async def hide_replay(self, replay_id: str, *, moderator_id: str, hidden: bool,
                          correlation_id: str | None = None) -> Replay:
        return await self._ask(HideReplay(replay_id=replay_id, moderator_id=moderator_id, hidden=hidden),
                               correlation_id)


    async def follow(self, user_id: str, anchor_id: str, *, following: bool,
                     correlation_id: str | None = None) -> FollowState:
        return await self._ask(Follow(user_id=user_id, anchor_id=anchor_id, following=following), correlation_id)

    async def following(self, user_id: str, *, limit: int, after: str | None,
                        correlation_id: str | None = None) -> FollowingPage:
        return await self._ask(ListFollowing(user_id=user_id, limit=limit, after_anchor_id=after), correlation_id)

    async def anchor(self, anchor_id: str, *, correlation_id: str | None = None) -> Anchor:
        return await self._ask(GetAnchor(anchor_id=anchor_id), correlation_id)

    async def anchor_rooms(self, anchor_id: str, *, limit: int, correlation_id: str | None = None) -> list[Room]:
        return (await self._ask(ListAnchorRooms(anchor_id=anchor_id, limit=limit), correlation_id)).rooms


class ModerationClient(_Client):
    """The moderation service, asked over the bus (moderators' routes)."""

    async def ban_room(self, room_id: str, *, reason: str, duration_hours: int, by: str,
                       command_id: str | None = None, correlation_id: str | None = None) -> BanAccepted:
        """Answered once the ban is in force (recorded, the anchor's open rooms closed)."""
        command = BanRoom(room_id=room_id, reason=reason, duration_hours=duration_hours, by=by)
        return await self._ask(command, correlation_id, command_id)

    async def cases(self, *, status: CaseStatus | None, limit: int, correlation_id: str | None = None) -> CasePage:
        return await self._ask(ListCases(status=status, limit=limit), correlation_id)

    async def resolve_case(self, case_id: str, *, action: CaseAction, by: str, reason: str | None,
                           duration_hours: int, correlation_id: str | None = None) -> Case:
        command = ResolveCase(case_id=case_id, action=action, by=by, reason=reason, duration_hours=duration_hours)
        return await self._ask(command, correlation_id)

    async def unban_anchor(self, anchor_id: str, *, by: str, correlation_id: str | None = None) -> None:
        await self._ask(UnbanAnchor(anchor_id=anchor_id, by=by), correlation_id)

    async def anchor_bans(self, anchor_id: str, *, limit: int, correlation_id: str | None = None) -> AnchorBans:
        return await self._ask(ListAnchorBans(anchor_id=anchor_id, limit=limit), correlation_id)
