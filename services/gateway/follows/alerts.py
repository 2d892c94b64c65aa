"""Go-live alerts to the followers connected to this gateway (`GET /v1/me/events`).

Each open stream is registered under its user; when `anchor.went_live` arrives, the registered
users whose cached follow set holds the anchor (the followers index of `on_air.py`) get
`followed_live` with the room. The set of a user with an open stream is loaded when the stream
opens, so it is always cached. An alert is sent once per room and stream: a redelivered event,
or one this gateway already saw, is dropped (the room ids alerted recently are remembered)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from services.gateway.follows.sets import FollowSets
from services.gateway.live.fanout import LiveRooms, Viewer
from shared.contracts import AnchorWentLive
from shared.metrics import FOLLOWED_LIVE_SENT

RECENT_ALERTS = 10_000


class FollowerStreams:
    def __init__(self, sets: FollowSets, streams: LiveRooms) -> None:
        self._sets, self.streams = sets, streams  # `streams` is keyed by user id, not by room
        self._alerted: OrderedDict[str, None] = OrderedDict()

    def went_live(self, event: AnchorWentLive) -> int:
        """Alert the connected followers; returns how many streams were told."""
        if event.room.id in self._alerted:
            return 0
        self._alerted[event.room.id] = None
        while len(self._alerted) > RECENT_ALERTS:
            self._alerted.popitem(last=False)
        told = 0
        # The followers whose set is cached here (every open stream's is), or the open streams'
        # users who are among them: whichever is fewer.
        followers = self._sets.on_air.followers(event.anchor_id)
        users = followers if len(followers) <= len(self.streams) else [
            user_id for user_id, _ in self.streams.by_key() if user_id in followers]
        for user_id in users:
            for viewer in self.streams.of(user_id):
                viewer.push_note(event.room)
                told += 1
        FOLLOWED_LIVE_SENT.inc(told)
        return told

    def join(self, user_id: str, alive: Callable[[], bool]) -> Viewer:
        return self.streams.join(user_id, user_id, alive)

    def leave(self, user_id: str, viewer: Viewer) -> None:
        self.streams.leave(user_id, viewer)
