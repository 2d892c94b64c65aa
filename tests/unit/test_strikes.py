"""Strike logic of the status watcher with a fake cloud that subclasses the real port."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.status_watcher.domain import StrikeBook
from shared.cloud import StreamState
from tests.fakes.cloud import FakeCloud

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(minutes=5)


def book_with(*rooms: tuple[str, datetime]) -> StrikeBook:
    book = StrikeBook(3, grace=timedelta(seconds=10))
    for room_id, activated in rooms:
        book.watch(room_id, f"s-{room_id}", activated, now=0)
    return book


async def cycle(book: StrikeBook, cloud: FakeCloud):  # type: ignore[no-untyped-def]
    return book.apply(await cloud.stream_states(book.streams_to_poll(NOW)))


async def test_three_consecutive_offline_polls_close_the_room() -> None:
    book, cloud = book_with(("r1", LONG_AGO)), FakeCloud()
    cloud.states["s-r1"] = StreamState.OFFLINE
    counts = []
    for _ in range(3):
        outcome = await cycle(book, cloud)
        counts.append([e.strikes for e in outcome.struck])
    assert counts == [[1], [2], [3]]
    assert [e.room_id for e in outcome.to_close] == ["r1"]
    assert book.streams_to_poll(NOW) == []  # closing: not struck again


async def test_online_resets_strikes_and_reports_recovery() -> None:
    book, cloud = book_with(("r1", LONG_AGO)), FakeCloud()
    cloud.states["s-r1"] = StreamState.OFFLINE
    await cycle(book, cloud)
    await cycle(book, cloud)
    cloud.states["s-r1"] = StreamState.ONLINE
    outcome = await cycle(book, cloud)
    assert [(e.room_id, n) for e, n in outcome.recovered] == [("r1", 2)]
    cloud.states["s-r1"] = StreamState.OFFLINE
    for _ in range(2):
        outcome = await cycle(book, cloud)
    assert outcome.to_close == []  # a brief interruption never adds up to a closure


async def test_an_outage_of_the_status_api_closes_nothing() -> None:
    book, cloud = book_with(("r1", LONG_AGO), ("r2", LONG_AGO)), FakeCloud()  # every answer UNKNOWN
    for _ in range(10):
        outcome = await cycle(book, cloud)
        assert outcome.struck == [] and outcome.to_close == [] and outcome.unknown == 2


async def test_unknown_neither_strikes_nor_resets() -> None:
    book, cloud = book_with(("r1", LONG_AGO)), FakeCloud()
    cloud.states["s-r1"] = StreamState.OFFLINE
    await cycle(book, cloud)
    await cycle(book, cloud)
    del cloud.states["s-r1"]
    await cycle(book, cloud)
    cloud.states["s-r1"] = StreamState.OFFLINE
    outcome = await cycle(book, cloud)
    assert [e.strikes for e in outcome.struck] == [3]


async def test_forbidden_counts_as_offline() -> None:
    book, cloud = book_with(("r1", LONG_AGO)), FakeCloud()
    cloud.states["s-r1"] = StreamState.FORBIDDEN
    assert [e.strikes for e in (await cycle(book, cloud)).struck] == [1]


async def test_rooms_activated_within_one_interval_are_not_polled_yet() -> None:
    book = book_with(("old", LONG_AGO), ("new", NOW - timedelta(seconds=3)))
    assert book.streams_to_poll(NOW) == ["s-old"]
    assert book.streams_to_poll(NOW + timedelta(seconds=8)) == ["s-old", "s-new"]


async def test_push_started_resets_strikes() -> None:
    book, cloud = book_with(("r1", LONG_AGO)), FakeCloud()
    cloud.states["s-r1"] = StreamState.OFFLINE
    await cycle(book, cloud)
    await cycle(book, cloud)
    book.push_started("s-r1")
    outcome = await cycle(book, cloud)
    assert [e.strikes for e in outcome.struck] == [1]


def test_resync_adds_missing_rooms_and_drops_stale_ones_but_keeps_newer_events() -> None:
    book = StrikeBook(3, grace=timedelta(seconds=10))
    book.watch("stale", "s-stale", LONG_AGO, now=1.0)  # closed while its event was missed
    book.watch("fresh", "s-fresh", LONG_AGO, now=6.0)  # activated by an event during the re-sync
    dropped = book.resync([("missed", "s-missed", LONG_AGO, False)], started=5.0, now=7.0)
    assert dropped == 1
    assert {s for s in book.streams_to_poll(NOW)} == {"s-fresh", "s-missed"}




async def test_an_interrupted_room_seen_online_is_reported_back_once() -> None:
    """Rooms holds it interrupted (a stop callback came); its start callback was lost: the first
    online poll says it is back, without any strike before."""
    book, cloud = StrikeBook(3, grace=timedelta(seconds=10)), FakeCloud()
    book.watch("r1", "s-r1", LONG_AGO, now=1.0, interrupted=True)
    cloud.states["s-r1"] = StreamState.ONLINE
    outcome = await cycle(book, cloud)
    assert [(e.room_id, strikes) for e, strikes in outcome.recovered] == [("r1", 0)]
    assert (await cycle(book, cloud)).recovered == []
