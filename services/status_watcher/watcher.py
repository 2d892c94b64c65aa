"""The status watcher's loop: keep the set of active rooms, poll their streams, strike, close."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from services.status_watcher.domain import CycleOutcome, StrikeBook
from shared.bus import Binding, Bus
from shared.clients import RoomsClient
from shared.cloud import CloudPort, StreamState
from shared.contracts import (
    CloseReason,
    CloseRoom,
    Contract,
    Envelope,
    LiveState,
    RoomActivated,
    RoomClosed,
    RoomInterrupted,
    RoomResumed,
    StreamOfflineStrike,
    StreamRecovered,
    StreamStarted,
    StreamStopped,
)
from shared.errors import BusUnavailable
from shared.metrics import (
    WATCHER_CLOSED,
    WATCHER_CYCLE_SECONDS,
    WATCHER_CYCLES,
    WATCHER_LAST_CYCLE,
    WATCHER_POLLED,
    WATCHER_STRUCK,
    WATCHER_WATCHED,
)

log = structlog.get_logger(__name__)

EVENTS_QUEUE = "status_watcher.events"
EVENT_BINDINGS = [Binding("events", t) for t in (RoomActivated.TYPE, RoomClosed.TYPE, RoomInterrupted.TYPE,
                                                   RoomResumed.TYPE, StreamStarted.TYPE, StreamStopped.TYPE)]


@dataclass
class CycleStats:
    watched: int
    polled: int
    cloud_calls: int
    unknown: int
    struck: int
    recovered: int
    closed: int
    seconds: float


class StatusWatcher:
    def __init__(self, *, bus: Bus, cloud: CloudPort, book: StrikeBook, interval: float, resync_every: float,
                 request_timeout: float) -> None:
        self._bus, self._cloud, self.book = bus, cloud, book
        self._interval, self._resync_every = interval, resync_every
        self._rooms = RoomsClient(bus, timeout=request_timeout)
        self.totals = {"cycles": 0, "cloud_calls": 0, "unknown": 0, "strikes": 0, "closures": 0}

    # --- events -------------------------------------------------------------------------

    async def handle_event(self, env: Envelope, event: Contract) -> None:
        if isinstance(event, RoomActivated | RoomInterrupted | RoomResumed):
            room = event.room
            if room.activated_at is not None:
                self.book.watch(room.id, room.stream_id, room.activated_at, now=time.monotonic(),
                                interrupted=room.stream_state is LiveState.INTERRUPTED)
        elif isinstance(event, RoomClosed):
            self.book.unwatch(event.room.id)
        elif isinstance(event, StreamStarted):
            entry = self.book.push_started(event.stream_id)
            if entry is not None:
                log.info("watch.push_started", room_id=entry.room_id, stream_id=event.stream_id)
        elif isinstance(event, StreamStopped):
            log.info("watch.push_stopped", stream_id=event.stream_id, errcode=event.errcode)

    # --- re-sync ------------------------------------------------------------------------

    async def resync(self) -> None:
        started = time.monotonic()
        snapshot: list[tuple[str, str, datetime, bool]] = []
        after_id: str | None = None
        while True:
            page = await self._rooms.live_page(after_id=after_id)
            snapshot.extend((r.id, r.stream_id, r.activated_at, r.stream_state is LiveState.INTERRUPTED)
                            for r in page.rooms if r.activated_at is not None)
            if page.last_id is None:
                break
            after_id = page.last_id
        dropped = self.book.resync(snapshot, started=started, now=time.monotonic())
        log.info("watch.resynced", active=len(snapshot), watched=len(self.book), dropped=dropped,
                 ms=round((time.monotonic() - started) * 1000, 1))

    # --- polling ------------------------------------------------------------------------

    async def poll_once(self) -> CycleStats:
        started, observed_at = time.monotonic(), datetime.now(UTC)
        streams = self.book.streams_to_poll(observed_at)
        calls_before = self._cloud.calls
        states = await self._cloud.stream_states(streams) if streams else {}
        outcome = self.book.apply(states)
        await self._announce(outcome, observed_at)
        stats = CycleStats(
            watched=len(self.book), polled=len(streams), cloud_calls=self._cloud.calls - calls_before,
            unknown=outcome.unknown, struck=len(outcome.struck), recovered=len(outcome.recovered),
            closed=len(outcome.to_close), seconds=time.monotonic() - started,
        )
        for key, value in (("cycles", 1), ("cloud_calls", stats.cloud_calls), ("unknown", stats.unknown),
                           ("strikes", stats.struck), ("closures", stats.closed)):
            self.totals[key] += value
        _export(stats, states)
        log.info("watch.cycle", watched=stats.watched, polled=stats.polled, cloud_calls=stats.cloud_calls,
                 unknown=stats.unknown, struck=stats.struck, recovered=stats.recovered, closed=stats.closed,
                 cycle_ms=round(stats.seconds * 1000, 1))
        return stats

    async def _announce(self, outcome: CycleOutcome, observed_at: datetime) -> None:
        """Strikes and recoveries go to rooms (the first strike interrupts a room no callback
        reported: a poll is the backstop of lost callbacks), the closes as commands."""
        events: list[Contract] = []
        for entry in outcome.struck:
            log.info("watch.strike", room_id=entry.room_id, stream_id=entry.stream_id, count=entry.strikes)
            events.append(StreamOfflineStrike(room_id=entry.room_id, stream_id=entry.stream_id, count=entry.strikes,
                                              observed_at=observed_at))
        for entry, strikes in outcome.recovered:
            log.info("watch.recovered", room_id=entry.room_id, stream_id=entry.stream_id, strikes=strikes)
            events.append(StreamRecovered(room_id=entry.room_id, stream_id=entry.stream_id, strikes_before=strikes,
                                          observed_at=observed_at))
        # Confirms are awaited together, not one round trip per event: thousands fit in a cycle.
        await asyncio.gather(*(self._bus.publish_event(event) for event in events))
        for entry in outcome.to_close:
            try:
                await self._bus.publish_command(CloseRoom(room_id=entry.room_id, reason=CloseReason.BLACK_SCREEN))
                log.warning("watch.closing_black_screen", room_id=entry.room_id, stream_id=entry.stream_id,
                            strikes=entry.strikes)
            except BusUnavailable:
                entry.closing = False  # ask again next cycle
                raise

    # --- the loop -----------------------------------------------------------------------

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
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def run(self) -> None:
        """Lead the watch: consume events, re-sync, and poll at a fixed rate until cancelled."""
        subscription = await self._bus.consume(EVENTS_QUEUE, EVENT_BINDINGS, self.handle_event)
        try:
            await self._first_resync()
            last_resync = time.monotonic()
            next_tick = time.monotonic() + self._interval
            while True:
                await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
                next_tick += self._interval
                try:
                    if time.monotonic() - last_resync >= self._resync_every:
                        await self.resync()
                        last_resync = time.monotonic()
                    await self.poll_once()
                except Exception as exc:  # one bad cycle must not stop the watch
                    log.warning("watch.cycle_failed", error=repr(exc))
        finally:
            await asyncio.shield(subscription.cancel())


def _export(stats: CycleStats, states: Mapping[str, StreamState]) -> None:
    WATCHER_CYCLES.inc()
    WATCHER_CYCLE_SECONDS.observe(stats.seconds)
    WATCHER_LAST_CYCLE.set_to_current_time()
    WATCHER_WATCHED.set(stats.watched)
    for state, count in Counter(states.values()).items():
        WATCHER_POLLED.labels(state.value).inc(count)
    WATCHER_STRUCK.inc(stats.struck)
    WATCHER_CLOSED.inc(stats.closed)
