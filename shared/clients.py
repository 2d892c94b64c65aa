"""Typed clients of the services that answer requests: what a caller needs, nothing of the bus."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar

from shared.contracts import (
    BanAnchor,
    Contract,
    ErrorCode,
    GetRoom,
    GetRoomByStream,
    ListLiveRooms,
    LiveRoomPage,
    Request,
    Room,
)
from shared.errors import DomainError

R = TypeVar("R", bound=Contract)


class Asker(Protocol):
    """What a client needs of the bus (`Bus.ask`)."""

    async def ask(self, request: Request[R], *, timeout: float, correlation_id: str | None = None,
                  message_id: str | None = None) -> R: ...


class RoomsClient:
    """The rooms service, asked over the bus. "No such room" is None, not an error."""

    def __init__(self, bus: Asker, *, timeout: float) -> None:
        self._bus = bus
        self._timeout = timeout

    async def _room_or_none(self, query: GetRoom | GetRoomByStream, correlation_id: str | None) -> Room | None:
        try:
            return await self._bus.ask(query, timeout=self._timeout, correlation_id=correlation_id)
        except DomainError as exc:
            if exc.code is ErrorCode.NOT_FOUND:
                return None
            raise

    async def get(self, room_id: str, *, correlation_id: str | None = None) -> Room | None:
        return await self._room_or_none(GetRoom(room_id=room_id), correlation_id)

    async def get_by_stream(self, stream_id: str, *, correlation_id: str | None = None) -> Room | None:
        return await self._room_or_none(GetRoomByStream(stream_id=stream_id), correlation_id)

    async def live_page(self, *, after_id: str | None, limit: int = 5000) -> LiveRoomPage:
        """Active rooms ordered by id, `limit` at a time after `after_id`."""
        return await self._bus.ask(ListLiveRooms(after_id=after_id, limit=limit), timeout=self._timeout)

    async def ban_anchor(self, anchor_id: str, *, ban_id: str, reason: str, until: datetime,
                         correlation_id: str | None = None) -> list[Room]:
        """Rooms records the anchor's ban (no create from now on) and closes its open rooms."""
        banned = await self._bus.ask(BanAnchor(anchor_id=anchor_id, ban_id=ban_id, reason=reason, until=until),
                                     timeout=self._timeout, correlation_id=correlation_id, message_id=f"{ban_id}:rooms")
        return banned.closed
