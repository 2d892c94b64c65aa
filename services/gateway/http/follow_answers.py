"""Answers of the follows routes, the moderators' anchor record, the categories, and the viewer's
own event stream (`/v1/me/events`)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from services.gateway.http.answers import Answer, ExpiredEvent, LiveEvent, RoomView
from shared.contracts import BanRecord


class Following(Answer):
    anchor_id: str
    following: bool
    followers: int = Field(description="The anchor's followers now")


class FollowedAnchor(Answer):
    anchor_id: str
    live_room: RoomView | None = Field(description="The anchor's room while it is on air (as listed)")


class FollowingList(Answer):
    following: list[FollowedAnchor]
    next_cursor: str | None


class AnchorView(Answer):
    anchor_id: str
    followers: int
    live_room: RoomView | None
    banned: bool
    banned_until: datetime | None


ROOMS_SHOWN = 20
BANS_SHOWN = 20


class AnchorRecord(Answer):
    anchor_id: str
    followers: int
    banned_until: datetime | None = Field(description="The ban in force ends then; null: not banned")
    rooms: list[RoomView] = Field(description=f"The anchor's rooms, newest first (up to {ROOMS_SHOWN})")
    bans: list[BanRecord] = Field(description=f"The anchor's bans, newest first (up to {BANS_SHOWN}), who lifted them")


class Category(Answer):
    name: str
    live: int = Field(description="Rooms on air in it now (this gateway's directory)")


class CategoryList(Answer):
    categories: list[Category]


class FollowedLiveEvent(LiveEvent):
    """An anchor the viewer follows went live (once per room: a push that comes back after an
    interruption is not a new one)."""

    EVENT: ClassVar[str] = "followed_live"
    room: RoomView


ME_EVENTS: tuple[type[LiveEvent], ...] = (FollowedLiveEvent, ExpiredEvent)
