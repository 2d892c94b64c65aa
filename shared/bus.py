"""The one RabbitMQ module every service uses.

Topology (all durable, declared idempotently by whoever starts first):
- `{ns}.commands`  direct exchange, routing key = command type (`rooms.create`, ...)
- `{ns}.events`    topic exchange, routing key = event type (`room.activated`, ...)
- `{ns}.dlx`       fanout dead-letter exchange -> quorum queue `{ns}.dead-letters` (bounded:
  100,000 messages, a week, the oldest dropped first)
- one quorum queue per consuming service, with a delivery limit that dead-letters poison
  messages instead of redelivering them forever, and optionally a length limit past which
  publishes are refused (reject-publish: the publisher answers 503).

Publishing waits for the broker's confirm, is persistent, and is mandatory: a message no queue
takes is an error (BusUnavailable), not a silent drop. Consumers ack after the handler returns,
so a crash mid-handler means redelivery. Requests use RabbitMQ direct reply-to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
    DeliveryMode,
    ExchangeType,
)
from aiormq.exceptions import AMQPError

from shared.contracts import (
    Contract,
    Envelope,
    ErrorCode,
    InvalidMessage,
    Query,
    Reply,
    ReplyError,
    decode,
    encode,
    wrap,
)
from shared.errors import BusUnavailable, DomainError, RequestTimedOut
from shared.metrics import CONSUMED, HANDLER_SECONDS, PUBLISH_FAILURES, PUBLISHED

log = structlog.get_logger(__name__)

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
P = TypeVar("P")

Handler = Callable[[Envelope, Contract], Awaitable[Contract | None]]
RetryDelay = Callable[[int], float]
BatchHandler = Callable[[list[tuple[Envelope, Contract]]], Awaitable[None]]


DEAD_LETTERS_ARGUMENTS = {"x-queue-type": "quorum", "x-max-length": 100_000, "x-overflow": "drop-head",
                          "x-message-ttl": 7 * 24 * 3600 * 1000}

# A confirm takes milliseconds; one that has not come within a second is a broker going away (a
# graceful shutdown keeps the connection open for seconds while it stops confirming). Callers
# answer 503 rather than hang; a retry is safe: every publish is idempotent by its message id.
PUBLISH_CONFIRM_SECONDS = 1.0


def linear_backoff(delivery: int) -> float:
    """Seconds to wait before handing a failed delivery back: 0.2 s per attempt, at most 2 s."""
    return min(0.2 * delivery, 2.0)


def exponential_backoff(first: float, cap: float) -> RetryDelay:
    """`first` seconds after the first failed delivery, doubling each time, at most `cap`: for
    failures that last seconds to minutes (a cloud or database outage)."""

    def delay(delivery: int) -> float:
        return float(min(first * 2 ** (delivery - 1), cap))

    return delay


TypedHandler = Callable[[Envelope, Any, P], Awaitable[Contract | None]]


def dispatcher(service: str, handlers: Mapping[type[Contract], TypedHandler[P]], ports: P) -> Handler:
    """One bus handler that routes each message type to its handler function with the service's ports."""

    async def handle(env: Envelope, message: Contract) -> Contract | None:
        handler = handlers.get(type(message))
        if handler is None:
            raise DomainError(ErrorCode.INVALID, f"{service} does not handle {env.type}")
        return await handler(env, message, ports)

    return handle


@dataclass(frozen=True)
class Binding:
    """Route messages to a queue: `exchange` is "commands" or "events"."""

    exchange: str
    routing_key: str


@dataclass(frozen=True)
class Subscription:
    """A running consumer; `cancel()` stops deliveries (unacked ones return to the queue)."""

    queue: AbstractQueue
    consumer_tag: str

    async def cancel(self) -> None:
        await self.queue.cancel(self.consumer_tag)


class Bus:
    def __init__(
        self,
        url: str,
        *,
        namespace: str = "onair",
        delivery_limit: int = 5,
        prefetch: int = 200,
    ) -> None:
        self._url = url
        self.namespace = namespace
        self._delivery_limit = delivery_limit
        self._prefetch = prefetch
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._reply_consumer_ready = False
        self._reply_consumer_lock = asyncio.Lock()
        self.reconnected = asyncio.Event()  # set on each reconnect: private queues may have missed events

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Connected now: a robust connection that lost the broker is not closed (it is
        reconnecting), so its `connected` event is what says whether it can carry anything."""
        connection = self._connection
        return (connection is not None and not connection.is_closed and connection.connected.is_set()
                and self._channel is not None)

    async def connect(self, *, attempts: int | None = None, delay: float = 1.0) -> None:
        """Connect (retrying while the broker is down) and declare the shared topology."""
        attempt = 0
        while True:
            attempt += 1
            try:
                self._connection = await aio_pika.connect_robust(self._url, timeout=10)
                break
            except (TimeoutError, OSError, AMQPError) as exc:
                if attempts is not None and attempt >= attempts:
                    raise BusUnavailable(f"cannot connect to the broker: {exc}") from exc
                log.warning("bus.connect_retry", attempt=attempt, error=str(exc))
                await asyncio.sleep(min(delay * attempt, 10))
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        self._channel = channel
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        await self._declare_exchanges()
        log.info("bus.connected", namespace=self.namespace)

    async def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        if self._connection is not None:
            await self._connection.close()
        self._connection = None
        self._channel = None

    async def _declare_exchanges(self) -> None:
        channel = self._require_channel()
        ns = self.namespace
        self._exchanges["commands"] = await channel.declare_exchange(
            f"{ns}.commands", ExchangeType.DIRECT, durable=True
        )
        # Events nobody subscribes to yet go to a bounded holding queue through the alternate
        # exchange: never returned as errors (pub/sub), never silently dropped either.
        unrouted = await channel.declare_exchange(f"{ns}.events.unrouted", ExchangeType.FANOUT, durable=True)
        unrouted_queue = await channel.declare_queue(
            f"{ns}.events.unrouted", durable=True,
            arguments={"x-queue-type": "quorum", "x-max-length": 10_000, "x-overflow": "drop-head"},
        )
        await unrouted_queue.bind(unrouted)
        self._exchanges["events"] = await channel.declare_exchange(
            f"{ns}.events", ExchangeType.TOPIC, durable=True, arguments={"alternate-exchange": unrouted.name}
        )
        # Dead letters: what a consumer refused or gave up on (and requests that expired unread:
        # RabbitMQ dead-letters those too), kept a week, at most 100,000, the oldest going first.
        dlx = await channel.declare_exchange(f"{ns}.dlx", ExchangeType.FANOUT, durable=True)
        dead_letters = await self._declare_queue(channel, f"{ns}.dead-letters", DEAD_LETTERS_ARGUMENTS)
        await dead_letters.bind(dlx)

    async def _on_reconnect(self, *_: Any) -> None:
        # The robust connection restores channels, queues and consumers; the direct reply-to
        # pseudo-queue is not a declared queue, so its consumer is re-registered here.
        log.info("bus.reconnected")
        self.reconnected.set()
        if self._reply_consumer_ready:
            self._reply_consumer_ready = False
            await self._ensure_reply_consumer()

    async def _channel_when_connected(self, timeout: float = 60.0) -> AbstractRobustChannel:
        """For setting up consumers: wait out a reconnect in progress (a consumer started just as
        the connection dropped, e.g. by a leader that just took over) rather than fail."""
        if self._connection is not None and not self._connection.is_closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connection.connected.wait(), timeout)
        return self._require_channel()

    def _require_channel(self) -> AbstractRobustChannel:
        if self._channel is None or not self.connected:  # fail now, not after a publish timeout
            raise BusUnavailable("not connected to the broker")
        return self._channel

    # --- publishing ---------------------------------------------------------------------

    async def publish_command(self, payload: Contract, *, correlation_id: str | None = None,
                              message_id: str | None = None) -> Envelope:
        return await self._publish("commands", wrap(payload, correlation_id=correlation_id, message_id=message_id))

    async def publish_event(self, payload: Contract, *, correlation_id: str | None = None,
                            message_id: str | None = None) -> Envelope:
        return await self._publish("events", wrap(payload, correlation_id=correlation_id, message_id=message_id))

    async def publish_envelope(self, exchange: str, envelope: Envelope) -> None:
        """Publish an envelope built earlier (the rooms outbox stores them before sending)."""
        await self._publish(exchange, envelope)

    async def _publish(self, exchange: str, envelope: Envelope, *, reply_to: str | None = None,
                       expiration: float | None = None, persistent: bool = True) -> Envelope:
        self._require_channel()
        message = aio_pika.Message(
            encode(envelope),
            content_type="application/json",
            delivery_mode=DeliveryMode.PERSISTENT if persistent else DeliveryMode.NOT_PERSISTENT,
            message_id=envelope.id,
            type=envelope.type,
            correlation_id=envelope.id if reply_to else envelope.correlation_id,
            reply_to=reply_to,
            expiration=expiration,
            timestamp=envelope.time,
        )
        try:
            # The whole publish is bounded, not only the confirm: right after a reconnect the
            # channel is still being restored and a publish would wait for it.
            async with asyncio.timeout(PUBLISH_CONFIRM_SECONDS):
                await self._exchanges[exchange].publish(message, routing_key=envelope.type, mandatory=True)
        except aio_pika.exceptions.DeliveryError as exc:
            PUBLISH_FAILURES.labels(envelope.type).inc()
            raise BusUnavailable(f"{envelope.type} was not accepted by any queue ({exc})") from exc
        except (TimeoutError, AMQPError, OSError, RuntimeError) as exc:
            PUBLISH_FAILURES.labels(envelope.type).inc()
            raise BusUnavailable(f"publish of {envelope.type} failed: {exc!r}") from exc
        PUBLISHED.labels(exchange, envelope.type).inc()
        return envelope

    # --- request / reply ----------------------------------------------------------------

    async def _ensure_reply_consumer(self) -> None:
        # The broker allows one reply consumer per channel: concurrent first requests share it.
        async with self._reply_consumer_lock:
            if self._reply_consumer_ready:
                return
            channel = self._require_channel()
            queue = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
            await queue.consume(self._on_reply, no_ack=True)
            self._reply_consumer_ready = True

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is None or future.done():
            log.info("bus.late_reply", correlation_id=message.correlation_id)
            return
        try:
            _, reply = decode(message.body)
            assert isinstance(reply, Reply)
            future.set_result(reply)
        except (InvalidMessage, AssertionError) as exc:
            future.set_exception(InvalidMessage(f"bad reply: {exc}"))

    async def request(self, payload: Contract, *, timeout: float, correlation_id: str | None = None,
                      message_id: str | None = None) -> dict[str, Any] | None:
        """Send a command and wait for its reply; return the result or raise its DomainError."""
        try:
            await self._ensure_reply_consumer()
        except (AMQPError, OSError, RuntimeError) as exc:
            raise BusUnavailable(f"cannot consume replies: {exc!r}") from exc
        envelope = wrap(payload, correlation_id=correlation_id, message_id=message_id)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        try:
            # The request expires with the wait: nobody would read a late answer. A read is not
            # worth a disk write: queries are transient, on a queue of their own.
            await self._publish("commands", envelope, reply_to=DIRECT_REPLY_TO, expiration=timeout,
                                persistent=not isinstance(payload, Query))
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise RequestTimedOut(f"no reply to {envelope.type} within {timeout}s") from exc
        finally:
            self._pending.pop(envelope.id, None)
        if reply.error is not None:
            if reply.error.code is ErrorCode.UNAVAILABLE:
                raise BusUnavailable(f"{envelope.type}: {reply.error.detail}")  # transient, like a broker outage
            raise DomainError.from_reply_error(reply.error)
        return reply.result

    # --- consuming ----------------------------------------------------------------------

    async def _declare_queue(self, channel: AbstractRobustChannel, name: str,
                             arguments: dict[str, Any]) -> AbstractQueue:
        """Declare a durable queue with `arguments`. RabbitMQ cannot change the arguments of a
        queue that exists (an older version made it, without bounds): such a queue is used as it
        is, with a warning naming what differs (a policy can add the bounds; see
        docs/architecture.md). Tried on a channel of its own, which the refusal closes."""
        assert self._connection is not None
        probe = await self._connection.channel(publisher_confirms=False)
        try:
            await probe.declare_queue(name, durable=True, arguments=arguments)
            return await channel.declare_queue(name, durable=True, arguments=arguments)
        except aio_pika.exceptions.ChannelPreconditionFailed as exc:
            log.warning("bus.queue_arguments_differ", queue=name, wanted=arguments, error=str(exc))
            return await channel.declare_queue(name, passive=True)
        finally:
            if not probe.is_closed:
                await probe.close()

    async def _bind(self, queue: AbstractQueue, bindings: Iterable[Binding]) -> None:
        for binding in bindings:
            await queue.bind(self._exchanges[binding.exchange], routing_key=binding.routing_key)

    async def _work_queue(self, channel: AbstractRobustChannel, queue_name: str,
                          bindings: Iterable[Binding], max_length: int | None = None) -> AbstractQueue:
        """Declare `{ns}.{queue_name}` (quorum, delivery limit, dead-lettering; with `max_length`,
        publishes past it are refused: the publisher answers 503 instead of filling the broker)
        and bind it."""
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-delivery-limit": self._delivery_limit,
            "x-dead-letter-exchange": f"{self.namespace}.dlx",
        }
        if max_length is not None:
            arguments |= {"x-max-length": max_length, "x-overflow": "reject-publish"}
        queue = await self._declare_queue(channel, f"{self.namespace}.{queue_name}", arguments)
        await self._bind(queue, bindings)
        log.info("bus.consuming", queue=queue.name, bindings=[b.routing_key for b in bindings])
        return queue

    async def consume(self, queue_name: str, bindings: Iterable[Binding], handler: Handler, *,
                      retry_delay: RetryDelay = linear_backoff, max_length: int | None = None) -> Subscription:
        """Consume one message at a time per delivery: ack after `handler` returns."""
        queue = await self._work_queue(await self._channel_when_connected(), queue_name, bindings, max_length)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._dispatch(message, handler, retry_delay)

        return Subscription(queue, await queue.consume(on_message))

    async def serve_queries(self, queue_name: str, bindings: Iterable[Binding], handler: Handler) -> Subscription:
        """Answer reads from `{ns}.{queue_name}`: a classic queue with no dead-letter exchange, so
        an expired or failed query is dropped (its asker has stopped waiting), never dead-lettered,
        and reads never wait behind the writes of the command queue."""
        channel = await self._channel_when_connected()
        queue = await channel.declare_queue(f"{self.namespace}.{queue_name}", durable=True,
                                            arguments={"x-queue-type": "classic"})
        await self._bind(queue, bindings)
        log.info("bus.serving_queries", queue=queue.name, bindings=[b.routing_key for b in bindings])

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._dispatch(message, handler, linear_backoff, retry=False)

        return Subscription(queue, await queue.consume(on_message))

    async def subscribe(self, bindings: Iterable[Binding], handler: Handler) -> Subscription:
        """A private queue for this process only (deleted with its connection): every replica
        gets its own copy of the events it binds, e.g. room updates for each gateway's viewers."""
        channel = await self._channel_when_connected()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self._bind(queue, bindings)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._dispatch(message, handler, linear_backoff)

        return Subscription(queue, await queue.consume(on_message))

    async def consume_batches(self, queue_name: str, bindings: Iterable[Binding], handler: BatchHandler, *,
                              max_batch: int, max_wait: float, retry_delay: RetryDelay = linear_backoff,
                              max_length: int | None = None) -> Subscription:
        """Hand messages to `handler` in batches (up to `max_batch`, or what arrived within `max_wait`
        seconds of the first), and ack the whole batch only after `handler` returns.

        A failing batch is nacked as a whole and redelivered (up to the delivery limit), so the
        handler must make re-applying a message harmless. It runs on a channel of its own, with a
        prefetch of two batches, so one batch is collected while the previous one is written.
        """
        await self._channel_when_connected()
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=max_batch * 2)
        queue = await self._work_queue(channel, queue_name, bindings, max_length)
        collector = _BatchCollector(handler, max_batch, max_wait, retry_delay, self._delivery_limit)
        return Subscription(queue, await queue.consume(collector.on_message))

    async def _dispatch(self, message: AbstractIncomingMessage, handler: Handler, retry_delay: RetryDelay, *,
                        retry: bool = True) -> None:
        structlog.contextvars.bind_contextvars(message_id=message.message_id, message_type=message.type)
        try:
            decoded = await _decode_or_reject(message)
            if decoded is None:
                return
            envelope, payload = decoded
            structlog.contextvars.bind_contextvars(correlation_id=envelope.correlation_id)
            started = time.perf_counter()
            try:
                result = await handler(envelope, payload)
            except DomainError as exc:
                if message.reply_to:
                    await self._reply(message, Reply(ok=False, error=exc.to_reply_error()))
                    await message.ack()
                    _settled(envelope.type, "acked", started)
                else:
                    log.error("bus.rejected_refused", code=exc.code, detail=exc.detail)
                    await message.reject(requeue=False)
                    _settled(envelope.type, "rejected", started)
                return
            except Exception as exc:
                if not retry:  # a query: answer "unavailable" at once rather than let the asker time out
                    log.warning("bus.query_failed", error=repr(exc))
                    if message.reply_to:
                        error = ReplyError(code=ErrorCode.UNAVAILABLE, detail="the store is unavailable")
                        await self._reply(message, Reply(ok=False, error=error))
                    await message.ack()
                    _settled(envelope.type, "answered_unavailable", started)
                    return
                # Any other failure is transient: retried up to the delivery limit.
                deliveries = int(str((message.headers or {}).get("x-delivery-count") or 0)) + 1
                if deliveries > self._delivery_limit:
                    # The quorum queue dead-letters it on this nack: say so loudly, once.
                    log.error("bus.dead_lettered", error=repr(exc), delivery=deliveries, exc_info=True)
                    _settled(envelope.type, "dead_lettered", started)
                else:
                    log.warning("bus.handler_failed", error=repr(exc), delivery=deliveries, limit=self._delivery_limit)
                    _settled(envelope.type, "requeued", started)
                    await asyncio.sleep(retry_delay(deliveries))  # back off before the redelivery
                await message.nack(requeue=True)
                return
            if message.reply_to:
                body = result.model_dump(mode="json") if result is not None else None
                await self._reply(message, Reply(ok=True, result=body))
            await message.ack()
            _settled(envelope.type, "acked", started)
        except (AMQPError, OSError, RuntimeError) as exc:
            # The channel went away mid-handling: the broker redelivers the unacked message.
            log.warning("bus.ack_lost", error=repr(exc))
        finally:
            structlog.contextvars.unbind_contextvars("message_id", "message_type", "correlation_id")

    async def _reply(self, message: AbstractIncomingMessage, reply: Reply) -> None:
        channel = self._require_channel()
        envelope = wrap(reply, correlation_id=message.correlation_id)
        await channel.default_exchange.publish(
            aio_pika.Message(encode(envelope), content_type="application/json", type=reply.TYPE,
                             correlation_id=message.correlation_id),
            routing_key=message.reply_to or "",
            mandatory=False,
        )


def _settled(message_type: str, outcome: str, started: float | None = None, count: int = 1) -> None:
    CONSUMED.labels(message_type, outcome).inc(count)
    if started is not None:
        HANDLER_SECONDS.labels(message_type).observe(time.perf_counter() - started)


def _last(batch: list[tuple[AbstractIncomingMessage, Envelope, Contract]]) -> AbstractIncomingMessage:
    return max((message for message, _, _ in batch), key=lambda m: m.delivery_tag or 0)


async def _decode_or_reject(message: AbstractIncomingMessage) -> tuple[Envelope, Contract] | None:
    """The typed message, or None after rejecting it to the dead-letter queue (it can never work)."""
    try:
        return decode(message.body)
    except InvalidMessage as exc:
        log.error("bus.rejected_invalid", reason=str(exc), body=message.body[:500].decode(errors="replace"))
        await message.reject(requeue=False)
        _settled(message.type or "unknown", "rejected")
        return None


# Failures in a row, with no success, after which a failed batch is not split further.
ISOLATION_PROBES = 3


class _BatchCollector:
    """Collects deliveries into batches for `Bus.consume_batches`."""

    def __init__(self, handler: BatchHandler, max_batch: int, max_wait: float, retry_delay: RetryDelay,
                 delivery_limit: int) -> None:
        self._handler, self._max_batch, self._max_wait = handler, max_batch, max_wait
        self._retry_delay, self._delivery_limit = retry_delay, delivery_limit
        self._pending: list[tuple[AbstractIncomingMessage, Envelope, Contract]] = []
        self._flushing = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        decoded = await _decode_or_reject(message)
        if decoded is None:
            return
        self._pending.append((message, *decoded))
        if len(self._pending) >= self._max_batch:
            await self._flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._max_wait)
        self._timer = None
        await self._flush()

    async def _flush(self) -> None:
        async with self._flushing:
            batch, self._pending = self._pending, []
            if not batch:
                return
            message_type = batch[0][1].type
            started = time.perf_counter()
            try:
                await self._handler([(envelope, payload) for _, envelope, payload in batch])
            except Exception as exc:
                failed = await self._isolate(batch) if len(batch) > 1 else batch
                deliveries = max(int(str((m.headers or {}).get("x-delivery-count") or 0)) + 1 for m, _, _ in failed)
                level = log.error if deliveries > self._delivery_limit else log.warning
                level("bus.batch_failed", error=repr(exc), messages=len(failed), of=len(batch), delivery=deliveries)
                await asyncio.sleep(self._retry_delay(deliveries))
                outcome = "dead_lettered" if deliveries > self._delivery_limit else "requeued"
                _settled(message_type, outcome, count=len(failed))
                _settled(message_type, "acked", count=len(batch) - len(failed))
                if len(failed) == len(batch):
                    await _last(batch).nack(multiple=True, requeue=True)  # all of it: retried as a whole
                else:
                    for message, _, _ in failed:  # only these return (and meet the delivery limit alone)
                        await message.nack(requeue=True)
                return
            # One frame settles the batch: it is every delivery still unacked on this channel up
            # to its last one (batches are flushed one at a time, in delivery order).
            await _last(batch).ack(multiple=True)
            _settled(message_type, "acked", started, count=len(batch))

    async def _isolate(self, batch: list[tuple[AbstractIncomingMessage, Envelope, Contract]]
                       ) -> list[tuple[AbstractIncomingMessage, Envelope, Contract]]:
        """After a failed batch, each message alone: the ones that work are acked, so one bad
        message never holds back (or dead-letters) the others. Returns the ones that failed. If
        the first few fail and none works, the trouble is not the messages (the store is away):
        all go back together, without trying the rest one by one."""
        failed: list[tuple[AbstractIncomingMessage, Envelope, Contract]] = []
        worked = False
        for index, item in enumerate(batch):
            message, envelope, payload = item
            try:
                await self._handler([(envelope, payload)])
            except Exception:
                failed.append(item)
                if not worked and len(failed) >= ISOLATION_PROBES:
                    return failed + batch[index + 1:]
                continue
            worked = True
            await message.ack()
        return failed
