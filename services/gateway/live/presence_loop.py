"""Runs presence for one gateway: reaps dead streams, reports this gateway's streams, applies
the other gateways' reports, and shows the new `viewers_now` in the directory and in the rooms'
live updates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import structlog

from services.gateway.directory import RoomDirectory
from services.gateway.live.fanout import LiveRooms
from services.gateway.live.presence import Presence
from services.gateway.ports import EventPublisher
from shared.contracts import PresenceReport
from shared.errors import BusUnavailable
from shared.metrics import LIVE_STREAMS, PRESENCE_INSTANCES

log = structlog.get_logger(__name__)

TICK_SECONDS = 1.0  # a viewer who closed the app leaves viewers_now within this (plus a report)


class PresenceLoop:
    def __init__(self, presence: Presence, live: LiveRooms, directory: RoomDirectory, events: EventPublisher,
                 connected: Callable[[], bool], *, also_ticked: LiveRooms | None = None) -> None:
        self.presence, self._live, self._directory = presence, live, directory
        self._events, self._connected = events, connected
        self._also_ticked = also_ticked  # the viewers' own streams (`/v1/me/events`): heartbeats, reaping

    def show_viewers_now(self, rooms: Iterable[str]) -> None:
        for room_id in rooms:
            viewers_now = self.presence.now(room_id)
            if self._directory.set_viewers_now(room_id, viewers_now):
                entry = self._directory.live(room_id)
                assert entry is not None
                self._live.viewers_now_changed(room_id, entry.viewers, viewers_now, entry.likes)

    def report_arrived(self, report: PresenceReport) -> None:
        """Another gateway's report (this gateway's own come back too, and change nothing)."""
        self.show_viewers_now(self.presence.apply(report))

    async def run(self) -> None:
        """Every second: reap dead streams, ring heartbeats. Every period: report (also this
        gateway's heartbeat to the others), expire silent gateways."""
        ticks_per_report = max(1, round(self.presence.period / TICK_SECONDS))
        tick = 0
        while True:
            await asyncio.sleep(TICK_SECONDS)
            tick += 1
            try:
                await self.tick(report=tick % ticks_per_report == 0)
            except Exception:  # one bad tick must not freeze viewers_now (and every heartbeat) for good
                log.exception("presence.tick_failed")

    async def tick(self, *, report: bool) -> None:
        self._live.tick()
        if self._also_ticked is not None:
            self._also_ticked.tick()
        if not report:
            return
        streams = self._live.streams()
        LIVE_STREAMS.set(sum(streams.values()))
        mine, changed = self.presence.report(streams)
        self.show_viewers_now(changed | self.presence.expire())
        PRESENCE_INSTANCES.set(self.presence.instances)
        if self._connected():
            try:
                await self._events.publish_event(mine)
            except BusUnavailable as exc:  # the others drop this gateway's counts until it is back
                log.warning("presence.report_failed", error=str(exc))
