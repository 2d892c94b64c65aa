"""The bus events a gateway follows, and what each changes here: the directory (the list), the
live updates of the room's viewers, and `viewers_now`. Every gateway has a private queue bound
to these (bootstrap.py); a new event to follow gets a binding there and a branch here."""

from __future__ import annotations

from datetime import UTC, datetime

from services.gateway.directory import RoomDirectory
from services.gateway.follows.alerts import FollowerStreams
from services.gateway.follows.sets import FollowSets
from services.gateway.live.fanout import LiveRooms
from services.gateway.live.presence_loop import PresenceLoop
from shared.bus import Binding
from shared.contracts import (
    AnchorFollowed,
    AnchorWentLive,
    Contract,
    Envelope,
    PresenceReport,
    RoomActivated,
    RoomClosed,
    RoomCountersChanged,
    RoomInterrupted,
    RoomResumed,
)
from shared.metrics import DIRECTORY_EVENT_LAG

FOLLOWED = [Binding("events", event.TYPE) for event in (RoomActivated, RoomClosed, RoomInterrupted, RoomResumed,
                                                         RoomCountersChanged, PresenceReport, AnchorFollowed,
                                                         AnchorWentLive)]


class RoomEvents:
    def __init__(self, directory: RoomDirectory, live: LiveRooms, presence: PresenceLoop, follow_sets: FollowSets,
                 alerts: FollowerStreams) -> None:
        self._directory, self._live, self._presence = directory, live, presence
        self._follow_sets, self._alerts = follow_sets, alerts

    async def __call__(self, env: Envelope, event: Contract) -> None:
        self.apply(event)
        DIRECTORY_EVENT_LAG.observe(max(0.0, (datetime.now(UTC) - env.time).total_seconds()))

    def apply(self, event: Contract) -> None:
        directory, live = self._directory, self._live
        if isinstance(event, RoomCountersChanged):
            # Viewers see only counts newer than what they were shown (versions), never older.
            live.counts_changed([counts for counts in event.rooms if directory.apply_counts(counts)],
                                self._presence.presence.now)
        elif isinstance(event, PresenceReport):
            self._presence.report_arrived(event)
        elif isinstance(event, RoomActivated):
            directory.apply(event.room)
            self._presence.show_viewers_now([event.room.id])  # streams may have opened before it went live here
        elif isinstance(event, RoomClosed):
            directory.apply(event.room)
            live.room_closed(event.room)
        elif isinstance(event, RoomInterrupted | RoomResumed) and directory.apply(event.room):
            live.stream_changed(event.room)
        elif isinstance(event, AnchorFollowed):
            self._follow_sets.apply(event)
        elif isinstance(event, AnchorWentLive):
            directory.apply(event.room)  # so the alert's room reads as listed, whichever event came first
            self._alerts.went_live(event)
