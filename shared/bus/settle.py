"""The one policy every consumer settles its deliveries by.

    success                      -> ack (and answer, if someone asked)
    Permanent failure            -> answered with the error if asked, else rejected: dead-lettered
                                    (or dropped, on a queue without a dead-letter exchange)
    transient failure, asked     -> answered "unavailable" at once: the asker retries, not the queue
    transient failure, told      -> handed back after a back-off, until the delivery limit; the
                                    delivery past it is dead-lettered

`decide` is pure (unit-tested); `settle` carries an outcome out on the broker.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aio_pika.abc import AbstractIncomingMessage

from shared.contracts import Contract, ErrorCode, Reply, ReplyError
from shared.errors import DomainError
from shared.failures import Permanent

RetryDelay = Callable[[int], float]
Answer = Callable[[AbstractIncomingMessage, Reply], Awaitable[None]]


class Outcome(enum.StrEnum):
    ACKED = "acked"
    REFUSED = "refused"  # answered with its domain error
    ANSWERED_UNAVAILABLE = "answered_unavailable"
    REJECTED = "rejected"  # permanent: dead-lettered at once
    REQUEUED = "requeued"
    DEAD_LETTERED = "dead_lettered"  # transient, past the delivery limit


def linear_backoff(delivery: int) -> float:
    """Seconds to wait before handing a failed delivery back: 0.2 s per attempt, at most 2 s."""
    return min(0.2 * delivery, 2.0)


def exponential_backoff(first: float, cap: float) -> RetryDelay:
    """`first` seconds after the first failed delivery, doubling each time, at most `cap`: for
    failures that last seconds to minutes (a cloud or database outage)."""

    def delay(delivery: int) -> float:
        return float(min(first * 2 ** (delivery - 1), cap))

    return delay


def decide(failure: BaseException | None, *, asked: bool, delivery: int, delivery_limit: int) -> Outcome:
    """What to do with a delivery (its `delivery`-th, counting from 1) that ended in `failure`."""
    if failure is None:
        return Outcome.ACKED
    if isinstance(failure, Permanent):
        return Outcome.REFUSED if asked else Outcome.REJECTED
    if asked:
        return Outcome.ANSWERED_UNAVAILABLE
    return Outcome.DEAD_LETTERED if delivery > delivery_limit else Outcome.REQUEUED


def error_reply(failure: BaseException) -> Reply:
    if isinstance(failure, DomainError):
        return Reply(ok=False, error=failure.to_reply_error())
    if isinstance(failure, Permanent):
        return Reply(ok=False, error=ReplyError(code=ErrorCode.INVALID, detail=str(failure)))
    return Reply(ok=False, error=ReplyError(code=ErrorCode.UNAVAILABLE, detail="the service's store is unavailable"))


async def settle(message: AbstractIncomingMessage, outcome: Outcome, answer: Answer, *,
                 result: Contract | None = None, failure: BaseException | None = None) -> None:
    """Carry `outcome` out on `message`: answer its asker if any, then ack, reject or hand back."""
    if outcome is Outcome.ACKED:
        if message.reply_to:
            await answer(message, Reply(ok=True, result=result.model_dump(mode="json") if result else None))
        await message.ack()
    elif outcome in (Outcome.REFUSED, Outcome.ANSWERED_UNAVAILABLE):
        assert failure is not None
        if message.reply_to:
            await answer(message, error_reply(failure))
        await message.ack()
    elif outcome is Outcome.REQUEUED:
        await message.nack(requeue=True)
    else:
        await message.reject(requeue=False)


class DeliveryCounts:
    """Failed deliveries per message. Quorum queues count them in the `x-delivery-count` header;
    a private (classic) queue does not, so those failures are counted here (the most recent
    10,000 messages), giving every consumer the same delivery limit."""

    KEPT = 10_000

    def __init__(self, *, from_header: bool) -> None:
        self._from_header = from_header
        self._failures: OrderedDict[str, int] = OrderedDict()

    def delivery(self, message: AbstractIncomingMessage) -> int:
        """This delivery's number, from 1."""
        if self._from_header:
            return int(str((message.headers or {}).get("x-delivery-count") or 0)) + 1
        return self._failures.get(message.message_id or "", 0) + 1

    def record(self, message: AbstractIncomingMessage, outcome: Outcome) -> None:
        if self._from_header or not message.message_id:
            return
        if outcome is Outcome.REQUEUED:
            self._failures[message.message_id] = self._failures.get(message.message_id, 0) + 1
            self._failures.move_to_end(message.message_id)
            while len(self._failures) > self.KEPT:
                self._failures.popitem(last=False)
        else:
            self._failures.pop(message.message_id, None)
