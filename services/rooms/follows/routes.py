"""The follows' messages, wired to their handlers (served by the rooms bootstrap)."""

from __future__ import annotations

from services.rooms.follows import handlers
from services.rooms.follows.store import FollowStore
from services.rooms.ports import AnchorBans, EventPublisher, RoomStore
from shared.bus import Routes, route
from shared.contracts import Follow, GetAnchor, ListFollowing, RoomActivated

ALERTS_QUEUE = "rooms.alerts"  # go-live fan-out, apart: a big one never holds up commands


def request_routes(follows: FollowStore, events: EventPublisher, max_following: int) -> Routes:
    return dict([route(Follow, lambda _, cmd: handlers.follow(cmd, follows=follows, events=events,
                                                               max_following=max_following))])


def query_routes(follows: FollowStore, rooms: RoomStore, bans: AnchorBans) -> Routes:
    return dict([
        route(ListFollowing, lambda _, query: handlers.following(query, follows=follows)),
        route(GetAnchor, lambda _, query: handlers.anchor(query, follows=follows, rooms=rooms, bans=bans)),
    ])


def alert_routes(follows: FollowStore, events: EventPublisher) -> Routes:
    async def went_live(_: object, event: RoomActivated) -> None:
        await handlers.went_live(event, follows=follows, events=events)

    return dict([route(RoomActivated, went_live)])
