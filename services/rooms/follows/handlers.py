"""Follow and unfollow, the following list, an anchor's public view, and the go-live fan-out."""

from __future__ import annotations

import structlog

from services.rooms.domain import now_ms
from services.rooms.follows.store import FollowStore
from services.rooms.ports import AnchorBans, EventPublisher, RoomStore
from shared.contracts import (
    Anchor,
    AnchorFollowed,
    AnchorWentLive,
    Follow,
    FollowersToAlert,
    FollowingPage,
    FollowState,
    GetAnchor,
    ListFollowing,
    RoomActivated,
)
from shared.contracts.base import ErrorCode
from shared.errors import DomainError
from shared.metrics import FOLLOW_ALERTS, FOLLOWS

log = structlog.get_logger(__name__)

ALERT_BATCH = 1000  # follower ids per `anchor.followers_to_alert` message


async def follow(cmd: Follow, *, follows: FollowStore, events: EventPublisher, max_following: int) -> FollowState:
    """Idempotent both ways. The change is announced to every gateway (their cached follow sets)."""
    if cmd.following:
        if cmd.user_id == cmd.anchor_id:
            raise DomainError(ErrorCode.INVALID, "one cannot follow oneself")
        if await follows.following_count(cmd.user_id) >= max_following:
            raise DomainError(ErrorCode.CONFLICT, f"following {max_following} anchors already: the most one can",
                              max_following=max_following)
        changed = await follows.follow(cmd.user_id, cmd.anchor_id, now_ms())
    else:
        changed = await follows.unfollow(cmd.user_id, cmd.anchor_id)
    if changed:
        FOLLOWS.labels("follow" if cmd.following else "unfollow").inc()
        await events.publish_event(AnchorFollowed(user_id=cmd.user_id, anchor_id=cmd.anchor_id,
                                                  following=cmd.following))
        log.info("anchor.followed" if cmd.following else "anchor.unfollowed", user_id=cmd.user_id,
                 anchor_id=cmd.anchor_id)
    return FollowState(anchor_id=cmd.anchor_id, following=cmd.following,
                       followers=await follows.follower_count(cmd.anchor_id))


async def following(query: ListFollowing, *, follows: FollowStore) -> FollowingPage:
    found = await follows.following(query.user_id, query.limit + 1, query.after_anchor_id)
    return FollowingPage(anchor_ids=found[:query.limit], more=len(found) > query.limit)


async def anchor(query: GetAnchor, *, follows: FollowStore, rooms: RoomStore, bans: AnchorBans) -> Anchor:
    banned_until = await bans.banned_until(query.anchor_id)
    return Anchor(anchor_id=query.anchor_id, followers=await follows.follower_count(query.anchor_id),
                  open_room=await rooms.find_open_by_anchor(query.anchor_id),
                  banned_until=banned_until if banned_until is not None and banned_until > now_ms() else None)


async def went_live(event: RoomActivated, *, follows: FollowStore, events: EventPublisher) -> int:
    """A room went live (once per room: a resumed push is not an activation, and an anchor back
    from a ban goes live in a new room). The connected followers are alerted through the
    gateways first (an anchor nobody follows: nothing at all); then every follower id goes on the
    bus in batches, each with a stable
    message id, so a redelivered activation repeats batches a consumer recognises, never new
    alerts. Runs on its own queue: the activation never waits for it."""
    room = event.room
    if await follows.follower_count(room.anchor_id) == 0:
        return 0  # most anchors: nobody to tell, so no message for every gateway to read
    await events.publish_event(AnchorWentLive(anchor_id=room.anchor_id, room=room), message_id=f"{room.id}:went_live")
    batch, sent, pending = 0, 0, None  # one batch held back, so the last is known to be the last
    async for ids in follows.follower_batches(room.anchor_id, ALERT_BATCH):
        if pending is not None:
            await _alert(events, room.anchor_id, room.id, batch, pending, last=False)
            sent, batch = sent + len(pending), batch + 1
        pending = ids
    if pending is not None:
        await _alert(events, room.anchor_id, room.id, batch, pending, last=True)
        sent, batch = sent + len(pending), batch + 1
    FOLLOW_ALERTS.inc(sent)
    log.info("anchor.went_live", anchor_id=room.anchor_id, room_id=room.id, followers=sent, batches=batch)
    return sent


async def _alert(events: EventPublisher, anchor_id: str, room_id: str, batch: int, ids: list[str], *,
                 last: bool) -> None:
    await events.publish_event(FollowersToAlert(anchor_id=anchor_id, room_id=room_id, batch=batch, last=last,
                                                follower_ids=ids), message_id=f"{room_id}:alert:{batch}")
