"""Follows: who follows which anchor, what an anchor looks like to viewers, and the go-live
alerts. The rooms service owns them (it owns the anchors' rooms and bans)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.contracts.base import Contract, Query, Request
from shared.contracts.rooms import Room

USER_ID = Field(min_length=1, max_length=128)


class FollowState(Contract):
    anchor_id: str
    following: bool
    followers: int = Field(ge=0, description="The anchor's followers after this change")


class Follow(Request[FollowState]):
    """Follow (or, with `following=False`, unfollow) an anchor: idempotent."""

    TYPE: ClassVar[str] = "rooms.follow"
    user_id: str = USER_ID
    anchor_id: str = USER_ID
    following: bool = True


class FollowingPage(Contract):
    anchor_ids: list[str]
    more: bool


class ListFollowing(Query[FollowingPage]):
    """The anchors a user follows, by anchor id, after `after_anchor_id`."""

    TYPE: ClassVar[str] = "rooms.following"
    user_id: str = USER_ID
    limit: int = Field(50, ge=1, le=5000)
    after_anchor_id: str | None = None


class Anchor(Contract):
    anchor_id: str
    followers: int = Field(ge=0)
    open_room: Room | None = Field(None, description="The anchor's unactive or active room, if any")
    banned_until: datetime | None = None


class GetAnchor(Query[Anchor]):
    TYPE: ClassVar[str] = "rooms.anchor"
    anchor_id: str = USER_ID


class AnchorFollowed(Contract):
    """A follow or unfollow took effect: each gateway's cached follow sets follow it."""

    TYPE: ClassVar[str] = "anchor.followed"
    user_id: str
    anchor_id: str
    following: bool


class AnchorWentLive(Contract):
    """A followed anchor's room went live (its activation: not a resumed push, so a reconnect
    within the grace alerts nobody). Gateways alert the followers connected to them."""

    TYPE: ClassVar[str] = "anchor.went_live"
    anchor_id: str
    room: Room


class FollowersToAlert(Contract):
    """One batch of the followers of an anchor that went live, for a push-notification service.
    The message id is `{room id}:alert:{batch}`: a repeated batch is recognisably the same."""

    TYPE: ClassVar[str] = "anchor.followers_to_alert"
    anchor_id: str
    room_id: str
    batch: int = Field(ge=0)
    last: bool = Field(description="True on the anchor's last batch for this room")
    follower_ids: list[str] = Field(max_length=1000)
