"""The gateway's counter batcher: taps merged into one message, answered only once the broker
has it, retried under one message id, given up within the bound (on an injected clock)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.gateway.counters import CounterBatcher, FirstLikes
from shared.bus import PUBLISH_CONFIRM_SECONDS
from shared.contracts import Contract, CounterEntry, Envelope, RecordCounters, wrap
from shared.errors import BusUnavailable


class Broker:
    """Publishes commands; the first `failures` publishes are refused."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: list[str | None] = []  # the message id of every attempt
        self.published: list[RecordCounters] = []

    async def publish_command(self, payload: Contract, *, correlation_id: str | None = None,
                              message_id: str | None = None) -> Envelope:
        self.attempts.append(message_id)
        if self.failures:
            self.failures -= 1
            raise BusUnavailable("no confirm")
        assert isinstance(payload, RecordCounters)
        self.published.append(payload)
        return wrap(payload, message_id=message_id)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def batcher(broker: Broker, clock: Clock, **options: Any) -> CounterBatcher:
    return CounterBatcher(broker, window=0, clock=clock.time, sleep=clock.sleep, **options)


async def test_taps_in_one_window_leave_as_one_message() -> None:
    broker, clock = Broker(), Clock()
    counters = batcher(broker, clock)
    await asyncio.gather(counters.add("r1", likes=1), counters.add("r1", likes=2), counters.add("r2", viewers=1),
                         counters.add("r1", likes=1, key="alice:tap-1"))
    [message] = broker.published
    assert message.entries == [CounterEntry(room_id="r1", likes=3), CounterEntry(room_id="r2", viewers=1),
                               CounterEntry(room_id="r1", likes=1, key="alice:tap-1")]  # keyed ones stay apart


async def test_a_crowd_past_max_waiters_flushes_at_once() -> None:
    broker, clock = Broker(), Clock()
    counters = CounterBatcher(broker, window=3600, max_waiters=3, clock=clock.time, sleep=clock.sleep)
    await asyncio.wait_for(asyncio.gather(*(counters.add("r1", likes=1) for _ in range(3))), 1)
    assert [m.entries for m in broker.published] == [[CounterEntry(room_id="r1", likes=3)]]


async def test_a_refused_publish_is_retried_under_the_same_id() -> None:
    broker, clock = Broker(failures=2), Clock()
    await batcher(broker, clock, publish_attempts=3).add("r1", likes=1)
    assert len(broker.attempts) == 3 and len(set(broker.attempts)) == 1  # one id: counted once by rooms
    assert len(broker.published) == 1 and clock.now == pytest.approx(0.05 + 0.10)


async def test_every_tap_of_an_unpublished_batch_fails_within_the_bound() -> None:
    broker, clock = Broker(failures=100), Clock()
    counters = batcher(broker, clock, publish_attempts=1000)
    results = await asyncio.gather(counters.add("r1", likes=1), counters.add("r2", likes=1), return_exceptions=True)
    assert all(isinstance(r, BusUnavailable) for r in results)
    # Back-offs of 0.05, 0.10 ... s: the attempt after the bound (1 s) has passed is the last.
    assert PUBLISH_CONFIRM_SECONDS == 1.0 and clock.now == pytest.approx(1.05) and len(broker.attempts) == 7
    assert broker.published == []


async def test_a_persons_first_like_of_a_window_carries_a_liker_mark() -> None:
    broker, clock = Broker(), Clock()
    wall = [1_000_000.0]
    counters = batcher(broker, clock, first_likes=FirstLikes(window=600, clock=lambda: wall[0]))
    for _ in range(5):  # a clicker
        await counters.add("r1", likes=3, liker="fan")
    await counters.add("r1", likes=1, liker="other")
    wall[0] += 600  # the next window: the clicker counts again, once
    await counters.add("r1", likes=1, liker="fan")
    marks = [entry.key for message in broker.published for entry in message.entries if entry.likers]
    assert marks == ["fan:liker:1666", "other:liker:1666", "fan:liker:1667"]
    assert sum(entry.likes for message in broker.published for entry in message.entries) == 17


async def test_a_liker_mark_that_was_not_published_is_sent_again() -> None:
    broker, clock = Broker(failures=10), Clock()
    counters = batcher(broker, clock, publish_attempts=1, first_likes=FirstLikes(clock=lambda: 0.0))
    with pytest.raises(BusUnavailable):
        await counters.add("r1", likes=1, liker="fan")
    broker.failures = 0
    await counters.add("r1", likes=1, liker="fan")  # the app retries
    assert [e.key for e in broker.published[0].entries if e.likers] == ["fan:liker:0"]
