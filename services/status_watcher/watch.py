"""The watch the leader runs: follow room events, re-sync, and poll at a fixed rate until
cancelled (handlers.py does each; this only keeps time)."""

from __future__ import annotations

import asyncio

import structlog

from services.status_watcher import handlers
from services.status_watcher.domain import StrikeBook
from services.status_watcher.ports import Clock, EventSource, LivePages, Publisher
from shared.bus import Binding
from shared.cloud import CloudPort
from shared.contracts import (
    Contract,
    Envelope,
    RoomActivated,
    RoomClosed,
    RoomInterrupted,
    RoomResumed,
    StreamStarted,
    StreamStopped,
)

log = structlog.get_logger(__name__)

EVENTS_QUEUE = "status_watcher.events"
EVENT_BINDINGS = [Binding("events", t) for t in (RoomActivated.TYPE, RoomClosed.TYPE, RoomInterrupted.TYPE,
                                                   RoomResumed.TYPE, StreamStarted.TYPE, StreamStopped.TYPE)]


class StatusWatch:
    def __init__(self, *, events: EventSource, rooms: LivePages, publisher: Publisher, cloud: CloudPort,
                 book: StrikeBook, interval: float, resync_every: float, clock: Clock | None = None) -> None:
        self._events, self._rooms, self._publisher, self._cloud = events, rooms, publisher, cloud
        self.book, self._interval, self._resync_every = book, interval, resync_every
        self._clock = clock or Clock()

    async def room_event(self, _: Envelope, event: Contract) -> None:
        handlers.room_event(event, book=self.book, clock=self._clock)

    async def resync(self) -> None:
        await handlers.resync(rooms=self._rooms, book=self.book, clock=self._clock)

    async def poll_once(self) -> handlers.CycleStats:
        return await handlers.poll(cloud=self._cloud, book=self.book, publisher=self._publisher, clock=self._clock)

    async def _first_resync(self) -> None:
        """The first read of the active rooms, retried until rooms answers: the watcher may start
        before it (its query queue not declared yet) or during an outage, and must not crash."""
        delay = 0.5
        while True:
            try:
                await self.resync()
                return
            except Exception as exc:  # rooms or the broker not there yet
                log.warning("watch.first_resync_failed", error=repr(exc), retry_in=delay)
                await self._clock.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def run(self) -> None:
        """Lead the watch until cancelled: a poll every `interval`, a re-sync every `resync_every`."""
        clock = self._clock
        subscription = await self._events.consume(EVENTS_QUEUE, EVENT_BINDINGS, self.room_event)
        try:
            await self._first_resync()
            last_resync = clock.monotonic()
            next_tick = clock.monotonic() + self._interval
            while True:
                await clock.sleep(max(0.0, next_tick - clock.monotonic()))
                next_tick += self._interval
                try:
                    if clock.monotonic() - last_resync >= self._resync_every:
                        await self.resync()
                        last_resync = clock.monotonic()
                    await self.poll_once()
                except Exception as exc:  # one bad cycle must not stop the watch
                    log.warning("watch.cycle_failed", error=repr(exc))
        finally:
            await asyncio.shield(subscription.cancel())
