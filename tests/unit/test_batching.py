"""The batch collector: batches settled together, failures isolated and settled by the one
policy, the wait and the back-off on an injected clock (nothing here sleeps)."""

from __future__ import annotations

import asyncio
from typing import cast

from aio_pika.abc import AbstractIncomingMessage

from shared.bus.batching import ISOLATION_PROBES, BatchCollector
from shared.contracts import Contract, CounterEntry, Envelope, ErrorCode, RecordCounters
from shared.errors import DomainError
from tests.fakes.amqp import Delivery


def like(room: str, *, deliveries_before: int = 0) -> Delivery:
    return Delivery(RecordCounters(entries=[CounterEntry(room_id=room, likes=1)]), deliveries_before=deliveries_before)


class Store:
    """The batch handler: writes rooms; `refuse` are never writable, and while `down` nothing is."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.calls = 0
        self.refuse: set[str] = set()
        self.down = False

    async def write(self, batch: list[tuple[Envelope, Contract]]) -> None:
        self.calls += 1
        rooms = [e.room_id for _, msg in batch if isinstance(msg, RecordCounters) for e in msg.entries]
        if self.down:
            raise ConnectionError("the store is away")
        if self.refuse & set(rooms):
            raise DomainError(ErrorCode.INVALID, "never writable")
        self.written.extend(rooms)


class Clock:
    """An injected sleep: records the delays; `gate` holds a sleeper until the test opens it."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.gate.wait()


def collector(store: Store, clock: Clock, max_batch: int = 4, limit: int = 2) -> BatchCollector:
    return BatchCollector(store.write, max_batch=max_batch, max_wait=0.5, retry_delay=lambda delivery: delivery * 10.0,
                          delivery_limit=limit, sleep=clock.sleep)


async def deliver(batches: BatchCollector, *deliveries: Delivery) -> None:
    for delivery in deliveries:
        await batches.on_message(cast(AbstractIncomingMessage, delivery))


async def test_a_full_batch_is_written_once_and_acked_with_one_frame() -> None:
    store, clock = Store(), Clock()
    deliveries = [like(f"r{n}") for n in range(4)]
    await deliver(collector(store, clock), *deliveries)
    assert (store.calls, store.written) == (1, ["r0", "r1", "r2", "r3"])
    assert [d.settled for d in deliveries] == [[], [], [], ["ack+"]]  # the last one acks them all
    assert clock.slept == []


async def test_a_partial_batch_waits_for_the_window() -> None:
    store, clock = Store(), Clock()
    clock.gate.clear()
    batches = collector(store, clock)
    first = like("r0")
    await deliver(batches, first, like("r1"))
    await asyncio.sleep(0)  # the window's timer starts, and waits on the gate
    assert (store.calls, clock.slept) == (0, [0.5])
    clock.gate.set()
    for _ in range(3):
        await asyncio.sleep(0)
    assert store.written == ["r0", "r1"]


async def test_a_refused_message_is_dead_lettered_at_once_and_the_rest_written() -> None:
    store, clock = Store(), Clock()
    store.refuse = {"bad"}
    deliveries = [like("r0"), like("bad"), like("r1"), like("r2")]
    await deliver(collector(store, clock), *deliveries)
    assert store.written == ["r0", "r1", "r2"]  # each alone, after the batch failed
    assert [d.settled for d in deliveries] == [["ack"], ["reject"], ["ack"], ["ack"]]
    assert clock.slept == []  # nothing goes back, so nothing waits


async def test_a_transient_failure_hands_the_batch_back_after_a_back_off() -> None:
    store, clock = Store(), Clock()
    store.down = True
    deliveries = [like("r0", deliveries_before=1), like("r1"), like("r2"), like("r3")]
    await deliver(collector(store, clock), *deliveries)
    # The batch, then ISOLATION_PROBES alone: none worked, so the rest is not tried one by one.
    assert store.calls == 1 + ISOLATION_PROBES
    assert clock.slept == [20.0]  # once, for the most-delivered message (its 2nd delivery)
    assert [d.settled for d in deliveries] == [[], [], [], ["nack+"]]


async def test_a_message_past_the_delivery_limit_is_dead_lettered_alone() -> None:
    store, clock = Store(), Clock()
    worn = like("worn", deliveries_before=2)  # its 3rd delivery: past a limit of 2 redeliveries
    deliveries = [like("r0"), worn, like("r1")]

    async def away_for_worn(batch: list[tuple[Envelope, Contract]]) -> None:
        rooms = [e.room_id for _, msg in batch if isinstance(msg, RecordCounters) for e in msg.entries]
        if "worn" in rooms:
            raise ConnectionError("times out on this one")
        await store.write(batch)

    batches = BatchCollector(away_for_worn, max_batch=3, max_wait=0.5, retry_delay=lambda d: 1.0, delivery_limit=2,
                             sleep=clock.sleep)
    await deliver(batches, *deliveries)
    assert store.written == ["r0", "r1"]
    assert [d.settled for d in deliveries] == [["ack"], ["reject"], ["ack"]]


async def test_garbage_is_rejected_before_it_joins_a_batch() -> None:
    store, clock = Store(), Clock()
    garbage = Delivery(b"\x00not json")
    await deliver(collector(store, clock), garbage)
    assert garbage.settled == ["reject"] and store.calls == 0
