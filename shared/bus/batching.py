"""Consuming in batches: deliveries collected for a moment, handled together, acked together."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared.bus.consumer import log_failure, record
from shared.bus.settle import DeliveryCounts, Outcome, RetryDelay, decide
from shared.contracts import Contract, Envelope, InvalidMessage, decode

log = structlog.get_logger(__name__)

BatchHandler = Callable[[list[tuple[Envelope, Contract]]], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]

# Failures in a row, with no success, after which a failed batch is not split further.
ISOLATION_PROBES = 3


@dataclass(frozen=True)
class _Item:
    message: AbstractIncomingMessage
    envelope: Envelope
    payload: Contract


class BatchCollector:
    """Collects deliveries into batches (up to `max_batch`, or what arrived within `max_wait`
    seconds of the first) and settles each batch after `handler` returns.

    A failing batch is split: each message alone, so the ones that work are acked and one bad
    message never holds back (or dead-letters) the others; each failure is then settled by the
    bus's one policy (a Permanent one dead-lettered at once). `sleep` is injectable for tests.
    """

    def __init__(self, handler: BatchHandler, *, max_batch: int, max_wait: float, retry_delay: RetryDelay,
                 delivery_limit: int, sleep: Sleep = asyncio.sleep) -> None:
        self._handler, self._max_batch, self._max_wait = handler, max_batch, max_wait
        self._retry_delay, self._limit, self._sleep = retry_delay, delivery_limit, sleep
        self._counts = DeliveryCounts(from_header=True)
        self._pending: list[_Item] = []
        self._flushing = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope, payload = decode(message.body)
        except InvalidMessage as exc:
            log_failure(Outcome.REJECTED, exc, 1, self._limit, body=message.body[:500].decode(errors="replace"))
            await message.reject(requeue=False)
            record(message.type or "unknown", Outcome.REJECTED)
            return
        self._pending.append(_Item(message, envelope, payload))
        if len(self._pending) >= self._max_batch:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await self._sleep(self._max_wait)
        self._timer = None
        await self.flush()

    async def flush(self) -> None:
        async with self._flushing:
            batch, self._pending = self._pending, []
            if not batch:
                return
            message_type = batch[0].envelope.type
            started = time.perf_counter()
            try:
                await self._handler([(item.envelope, item.payload) for item in batch])
            except Exception as exc:
                failed: list[tuple[_Item, BaseException]] = (
                    await self._isolate(batch, exc) if len(batch) > 1 else [(batch[0], exc)])
                record(message_type, Outcome.ACKED, count=len(batch) - len(failed))
                await self._settle_failed(batch, failed)
                return
            # One frame settles the batch: it is every delivery still unacked on this channel up
            # to its last one (batches are flushed one at a time, in delivery order).
            await _last(batch).ack(multiple=True)
            record(message_type, Outcome.ACKED, started, count=len(batch))

    async def _settle_failed(self, batch: list[_Item], failed: list[tuple[_Item, BaseException]]) -> None:
        decided = []
        for item, failure in failed:
            delivery = self._counts.delivery(item.message)
            outcome = decide(failure, asked=False, delivery=delivery, delivery_limit=self._limit)
            decided.append((item, outcome, delivery))
        returning = [delivery for _, outcome, delivery in decided if outcome is Outcome.REQUEUED]
        first_failure = failed[0][1]
        log_failure(Outcome.REQUEUED if returning else decided[0][1], first_failure, max(d for *_, d in decided),
                    self._limit, messages=len(failed), of=len(batch))
        if returning:
            await self._sleep(self._retry_delay(max(returning)))  # back off once for the whole batch
        if len(returning) == len(batch):
            await _last(batch).nack(multiple=True, requeue=True)  # all of it: retried as a whole
        else:
            for item, outcome, _ in decided:  # only these return (and meet the delivery limit alone)
                if outcome is Outcome.REQUEUED:
                    await item.message.nack(requeue=True)
                else:
                    await item.message.reject(requeue=False)
        for item, outcome, _ in decided:
            record(item.envelope.type, outcome)

    async def _isolate(self, batch: list[_Item], batch_failure: BaseException) -> list[tuple[_Item, BaseException]]:
        """Each message alone; returns the ones that failed with their failures. If the first few
        fail and none works, the trouble is not the messages (the store is away): all go back
        together, without trying the rest one by one."""
        failed: list[tuple[_Item, BaseException]] = []
        worked = False
        for index, item in enumerate(batch):
            try:
                await self._handler([(item.envelope, item.payload)])
            except Exception as exc:
                failed.append((item, exc))
                if not worked and len(failed) >= ISOLATION_PROBES:
                    return failed + [(rest, batch_failure) for rest in batch[index + 1:]]
                continue
            worked = True
            await item.message.ack()
        return failed


def _last(batch: list[_Item]) -> AbstractIncomingMessage:
    return max((item.message for item in batch), key=lambda message: message.delivery_tag or 0)
