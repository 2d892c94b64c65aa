"""The status watcher on fakes of its ports: a clock moved by hand, rooms' live pages and the
cloud in memory, a recording publisher. No broker, no waiting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

import pytest

from services.status_watcher.domain import StrikeBook
from services.status_watcher.ports import Clock
from services.status_watcher.watch import StatusWatch
from shared.bus import Binding
from shared.cloud import StreamState
from shared.contracts import (
    CloseReason,
    Contract,
    Envelope,
    LiveRoomPage,
    LiveState,
    Room,
    RoomActivated,
    RoomClosed,
    RoomStatus,
    StreamOfflineStrike,
    StreamRecovered,
    decode,
    encode,
)
from shared.errors import BusUnavailable
from tests.fakes.cloud import FakeCloud
from tests.fakes.publisher import RecordingPublisher

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
INTERVAL = 10.0


class ManualClock:
    """Monotonic seconds and wall time that move only when the watch sleeps (or a test says)."""

    def __init__(self) -> None:
        self.now, self.slept = 0.0, []  # type: ignore[var-annotated]

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.now)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(monotonic=self.monotonic, wall=self.wall, sleep=self.sleep)


class LiveRooms:
    """Rooms' live pages; `fail` times it does not answer first."""

    def __init__(self, rooms: list[Room], fail: int = 0) -> None:
        self.rooms, self.fail, self.asked = rooms, fail, 0

    async def live_page(self, *, after_id: str | None, limit: int = 5000, timeout: float | None = None) -> LiveRoomPage:
        self.asked += 1
        if self.fail:
            self.fail -= 1
            raise BusUnavailable("rooms is away")
        after = [r for r in self.rooms if after_id is None or r.id > after_id][:2]  # pages of two
        return LiveRoomPage(rooms=after, last_id=after[-1].id if len(after) == 2 else None)


class NoEvents:
    async def consume(self, queue_name: str, bindings: Iterable[Binding],
                      handler: Callable[[Envelope, Contract], Awaitable[None]]) -> NoEvents:
        return self

    async def cancel(self) -> None: ...


def sent(envelopes: list[Envelope]) -> list[Contract]:
    return [decode(encode(envelope))[1] for envelope in envelopes]


def room(n: int, *, activated: datetime = T0 - timedelta(minutes=5), **fields: object) -> Room:
    return Room(id=f"r{n}", anchor_id=f"a{n}", title="t", cover_url="https://x/c.jpg", status=RoomStatus.ACTIVE,
                created_at=activated, activated_at=activated, stream_id=f"s{n}", version=2, **fields)


def watch_of(rooms: LiveRooms, cloud: FakeCloud, publisher: RecordingPublisher, clock: ManualClock) -> StatusWatch:
    return StatusWatch(events=NoEvents(), rooms=rooms, publisher=publisher, cloud=cloud,
                       book=StrikeBook(3, grace=timedelta(seconds=INTERVAL)), interval=INTERVAL, resync_every=60,
                       clock=clock.clock())


async def test_three_offline_polls_strike_then_close_at_the_clocks_time() -> None:
    clock, cloud, publisher = ManualClock(), FakeCloud(), RecordingPublisher()
    watch = watch_of(LiveRooms([room(1), room(2)]), cloud, publisher, clock)
    await watch.resync()
    cloud.states = {"s1": StreamState.OFFLINE, "s2": StreamState.ONLINE}
    for _ in range(3):
        stats = await watch.poll_once()
        clock.now += INTERVAL
    assert stats.struck == 1 and stats.closed == 1 and stats.polled == 2
    strikes = sent(publisher.events)
    assert [s.count for s in strikes if isinstance(s, StreamOfflineStrike)] == [1, 2, 3]
    assert strikes[0].observed_at == T0  # type: ignore[attr-defined]
    [close] = sent(publisher.commands)
    assert close.room_id == "r1" and close.reason is CloseReason.BLACK_SCREEN  # type: ignore[attr-defined]
    assert (await watch.poll_once()).polled == 1  # a room being closed is not polled again


async def test_a_cycle_the_broker_refused_closes_its_room_on_the_next() -> None:
    clock, cloud, publisher = ManualClock(), FakeCloud(), RecordingPublisher()
    watch = watch_of(LiveRooms([room(1)]), cloud, publisher, clock)
    await watch.resync()
    cloud.states = {"s1": StreamState.OFFLINE}
    await watch.poll_once()
    await watch.poll_once()
    RecordingPublisher.refuse = True
    try:
        with pytest.raises(BusUnavailable):
            await watch.poll_once()
    finally:
        RecordingPublisher.refuse = False
    await watch.poll_once()
    assert [close.room_id for close in sent(publisher.commands)] == ["r1"]  # type: ignore[attr-defined]


async def test_an_online_poll_brings_back_an_interrupted_room() -> None:
    clock, cloud, publisher = ManualClock(), FakeCloud(), RecordingPublisher()
    watch = watch_of(LiveRooms([room(1, stream_state=LiveState.INTERRUPTED)]), cloud, publisher, clock)
    await watch.resync()
    cloud.states = {"s1": StreamState.ONLINE}
    assert (await watch.poll_once()).recovered == 1
    [recovered] = sent(publisher.events)
    assert isinstance(recovered, StreamRecovered) and recovered.strikes_before == 0


async def test_events_keep_the_book_and_a_resync_drops_only_what_it_should() -> None:
    clock, publisher = ManualClock(), RecordingPublisher()
    rooms = LiveRooms([room(1), room(2), room(3)])
    watch = watch_of(rooms, FakeCloud(), publisher, clock)
    await watch.resync()
    assert len(watch.book) == 3
    await watch.room_event(None, RoomClosed(room=room(3).model_copy(update={"status": RoomStatus.CLOSED})))  # type: ignore[arg-type]
    assert watch.book.get("r3") is None
    clock.now = 100.0
    rooms.rooms = [room(1)]  # r2 closed while its event was lost
    await watch.room_event(None, RoomActivated(room=room(4)))  # type: ignore[arg-type]
    await watch.resync()
    assert watch.book.get("r2") is None and watch.book.get("r4") is not None  # r4: an event after the re-sync began


async def test_the_loop_retries_the_first_resync_then_polls_every_interval() -> None:
    clock, cloud, publisher = ManualClock(), FakeCloud(), RecordingPublisher()
    rooms = LiveRooms([room(1)], fail=2)
    watch = watch_of(rooms, cloud, publisher, clock)
    cloud.states = {"s1": StreamState.ONLINE}
    polls = 0
    real_poll = watch.poll_once

    async def counted() -> object:
        nonlocal polls
        polls += 1
        if polls == 8:
            raise _Stop()
        return await real_poll()

    watch.poll_once = counted  # type: ignore[method-assign, assignment]
    with pytest.raises(_Stop):
        await watch.run()
    assert clock.slept[:2] == [0.5, 1.0]  # back-off while rooms does not answer
    assert clock.slept[2:] == [INTERVAL] * 8  # then one poll per interval
    assert rooms.asked == 3 + 1  # the first re-sync (after two failures), and one more after 60 s


class _Stop(BaseException):
    """Ends the loop as a cancellation would (an Exception is a failed cycle, and the watch goes on)."""
