"""What the status watcher does, one function per job, each taking only the ports it uses
(ports.py); the rules are in domain.py (`StrikeBook`), the loop that runs these in watch.py."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from services.status_watcher.domain import CycleOutcome, StrikeBook
from services.status_watcher.ports import Clock, LivePages, Publisher
from shared.cloud import CloudPort, StreamState
from shared.contracts import (
    CloseReason,
    CloseRoom,
    Contract,
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


def room_event(event: Contract, *, book: StrikeBook, clock: Clock) -> None:
    """Rooms' and the media server's events keep the book of watched rooms current."""
    if isinstance(event, RoomActivated | RoomInterrupted | RoomResumed):
        room = event.room
        if room.activated_at is not None:
            book.watch(room.id, room.stream_id, room.activated_at, now=clock.monotonic(),
                       interrupted=room.stream_state is LiveState.INTERRUPTED)
    elif isinstance(event, RoomClosed):
        book.unwatch(event.room.id)
    elif isinstance(event, StreamStarted):
        entry = book.push_started(event.stream_id)
        if entry is not None:
            log.info("watch.push_started", room_id=entry.room_id, stream_id=event.stream_id)
    elif isinstance(event, StreamStopped):
        log.info("watch.push_stopped", stream_id=event.stream_id, errcode=event.errcode)


async def resync(*, rooms: LivePages, book: StrikeBook, clock: Clock) -> None:
    """Adopt rooms' list of active rooms (a missed event is repaired here)."""
    started = clock.monotonic()
    snapshot: list[tuple[str, str, datetime, bool]] = []
    after_id: str | None = None
    while True:
        page = await rooms.live_page(after_id=after_id)
        snapshot.extend((r.id, r.stream_id, r.activated_at, r.stream_state is LiveState.INTERRUPTED)
                        for r in page.rooms if r.activated_at is not None)
        if page.last_id is None:
            break
        after_id = page.last_id
    dropped = book.resync(snapshot, started=started, now=clock.monotonic())
    log.info("watch.resynced", active=len(snapshot), watched=len(book), dropped=dropped,
             ms=round((clock.monotonic() - started) * 1000, 1))


async def poll(*, cloud: CloudPort, book: StrikeBook, publisher: Publisher, clock: Clock) -> CycleStats:
    """One cycle: ask the cloud for the watched streams, strike, recover, close."""
    started, observed_at = clock.monotonic(), clock.wall()
    streams = book.streams_to_poll(observed_at)
    calls_before = cloud.calls
    states = await cloud.stream_states(streams) if streams else {}
    outcome = book.apply(states)
    await announce(outcome, observed_at, publisher=publisher)
    stats = CycleStats(
        watched=len(book), polled=len(streams), cloud_calls=cloud.calls - calls_before, unknown=outcome.unknown,
        struck=len(outcome.struck), recovered=len(outcome.recovered), closed=len(outcome.to_close),
        seconds=clock.monotonic() - started,
    )
    _export(stats, states)
    log.info("watch.cycle", watched=stats.watched, polled=stats.polled, cloud_calls=stats.cloud_calls,
             unknown=stats.unknown, struck=stats.struck, recovered=stats.recovered, closed=stats.closed,
             cycle_ms=round(stats.seconds * 1000, 1))
    return stats


async def announce(outcome: CycleOutcome, observed_at: datetime, *, publisher: Publisher) -> None:
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
    unsent = list(outcome.to_close)
    try:
        # Confirms are awaited together, not one round trip per event: thousands fit in a cycle.
        await asyncio.gather(*(publisher.publish_event(event) for event in events))
        while unsent:
            entry = unsent[0]
            await publisher.publish_command(CloseRoom(room_id=entry.room_id, reason=CloseReason.BLACK_SCREEN))
            log.warning("watch.closing_black_screen", room_id=entry.room_id, stream_id=entry.stream_id,
                        strikes=entry.strikes)
            unsent.pop(0)
    except BusUnavailable:
        for entry in unsent:
            entry.closing = False  # not asked: struck and asked again next cycle
        raise


def _export(stats: CycleStats, states: Mapping[str, StreamState]) -> None:
    WATCHER_CYCLES.inc()
    WATCHER_CYCLE_SECONDS.observe(stats.seconds)
    WATCHER_LAST_CYCLE.set_to_current_time()
    WATCHER_WATCHED.set(stats.watched)
    for state, count in Counter(states.values()).items():
        WATCHER_POLLED.labels(state.value).inc(count)
    WATCHER_STRUCK.inc(stats.struck)
    WATCHER_CLOSED.inc(stats.closed)
