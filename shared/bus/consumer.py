"""Consuming one delivery at a time: decode, handle, settle by the one policy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar, cast

import structlog
from aio_pika.abc import AbstractIncomingMessage
from aiormq.exceptions import AMQPError

from shared.bus.settle import Answer, DeliveryCounts, Outcome, RetryDelay, decide, settle
from shared.contracts import Contract, Envelope, ErrorCode, decode
from shared.errors import DomainError
from shared.metrics import CONSUMED, HANDLER_SECONDS

log = structlog.get_logger(__name__)

Handler = Callable[[Envelope, Contract], Awaitable[Contract | None]]
# A service's handlers by message type, each already given the ports it uses (the bootstrap wires them).
Routes = Mapping[type[Contract], Handler]
M = TypeVar("M", bound=Contract)


def route(model: type[M],
          handler: Callable[[Envelope, M], Awaitable[Contract | None]]) -> tuple[type[Contract], Handler]:
    """One entry of a service's routes, typed: `handler` gets the `model` it is routed for."""
    return model, cast(Handler, handler)  # the dispatcher hands it only messages of type `model`


def dispatcher(service: str, routes: Routes) -> Handler:
    """One bus handler that hands each message to the handler of its type."""

    async def handle(env: Envelope, message: Contract) -> Contract | None:
        handler = routes.get(type(message))
        if handler is None:
            raise DomainError(ErrorCode.INVALID, f"{service} does not handle {env.type}")
        return await handler(env, message)

    return handle


def record(message_type: str, outcome: Outcome, started: float | None = None, count: int = 1) -> None:
    CONSUMED.labels(message_type, outcome.value).inc(count)
    if started is not None:
        HANDLER_SECONDS.labels(message_type).observe(time.perf_counter() - started)


def log_failure(outcome: Outcome, failure: BaseException, delivery: int, limit: int, **fields: object) -> None:
    if outcome is Outcome.REQUEUED:
        log.warning("bus.handler_failed", error=repr(failure), delivery=delivery, limit=limit, **fields)
    elif outcome is Outcome.DEAD_LETTERED:
        log.error("bus.dead_lettered", error=repr(failure), delivery=delivery, exc_info=failure, **fields)
    elif outcome is Outcome.REJECTED:
        log.error("bus.rejected", error=repr(failure), **fields)
    elif outcome is Outcome.ANSWERED_UNAVAILABLE:
        log.warning("bus.answered_unavailable", error=repr(failure), **fields)


class Consumer:
    """Hands each delivery of one queue to `handler` and settles it."""

    def __init__(self, handler: Handler, answer: Answer, *, delivery_limit: int, retry_delay: RetryDelay,
                 counts: DeliveryCounts) -> None:
        self._handler, self._answer = handler, answer
        self._limit, self._retry_delay, self._counts = delivery_limit, retry_delay, counts

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        structlog.contextvars.bind_contextvars(message_id=message.message_id, message_type=message.type)
        started = time.perf_counter()
        message_type = message.type or "unknown"
        result: Contract | None = None
        failure: BaseException | None = None
        try:
            envelope, payload = decode(message.body)
            message_type = envelope.type
            structlog.contextvars.bind_contextvars(correlation_id=envelope.correlation_id)
            result = await self._handler(envelope, payload)
        except Exception as exc:
            failure = exc
        try:
            delivery = self._counts.delivery(message)
            outcome = decide(failure, asked=bool(message.reply_to), delivery=delivery, delivery_limit=self._limit)
            if failure is not None:
                log_failure(outcome, failure, delivery, self._limit)
            if outcome is Outcome.REQUEUED:
                await asyncio.sleep(self._retry_delay(delivery))  # back off before the redelivery
            await settle(message, outcome, self._answer, result=result, failure=failure)
            self._counts.record(message, outcome)
            record(message_type, outcome, started)
        except (AMQPError, OSError, RuntimeError) as exc:
            # The channel went away mid-handling: the broker redelivers the unsettled message.
            log.warning("bus.ack_lost", error=repr(exc))
        finally:
            structlog.contextvars.unbind_contextvars("message_id", "message_type", "correlation_id")
