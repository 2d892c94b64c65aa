"""The bus every service uses: one object over the connection, topology, publishing, requests
and the three ways of consuming (see the modules beside this one for each)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from shared.bus.batching import BatchCollector, BatchHandler
from shared.bus.connection import Connection
from shared.bus.consumer import Consumer, Handler
from shared.bus.nodes import STUCK_SECONDS
from shared.bus.publisher import publish
from shared.bus.rpc import Replies, answer
from shared.bus.settle import DeliveryCounts, RetryDelay, linear_backoff
from shared.bus.topology import Binding, Topology, declare_queue
from shared.contracts import Contract, Envelope, Query, Reply, Request, wrap

log = structlog.get_logger(__name__)

R = TypeVar("R", bound=Contract)


@dataclass(frozen=True)
class Subscription:
    """A running consumer; `cancel()` stops deliveries (unacked ones return to the queue)."""

    queue: AbstractQueue
    consumer_tag: str

    async def cancel(self) -> None:
        await self.queue.cancel(self.consumer_tag)


class Bus:
    def __init__(self, url: str, *, namespace: str = "onair", delivery_limit: int = 5, prefetch: int = 200,
                 stuck_seconds: float = STUCK_SECONDS) -> None:
        self.namespace = namespace
        self._link = Connection(url, prefetch, stuck_seconds=stuck_seconds)
        self._topology = Topology(namespace, delivery_limit)
        self._replies = Replies(self._link)

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._link.connected

    @property
    def reconnected(self) -> asyncio.Event:
        """Set on each reconnect: private queues may have missed events meanwhile."""
        return self._link.reconnected

    async def connect(self, *, attempts: int | None = None, delay: float = 1.0) -> None:
        """Connect (retrying while the broker is down) and declare the shared topology."""
        channel = await self._link.open(attempts=attempts, delay=delay)
        assert self._link.robust is not None
        await self._topology.declare_exchanges(self._link.robust, channel)
        log.info("bus.connected", namespace=self.namespace)

    async def close(self) -> None:
        self._replies.cancel_all()
        await self._link.close()

    # --- publishing and asking ----------------------------------------------------------

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
        self._link.require_channel()
        await publish(self._topology.exchanges[exchange], exchange, envelope, reply_to=reply_to,
                      expiration=expiration, persistent=persistent)
        return envelope

    async def ask(self, request: Request[R], *, timeout: float, correlation_id: str | None = None,
                  message_id: str | None = None) -> R:
        """Send a request and wait for its answer: the reply type named by the request, or its
        DomainError; BusUnavailable or RequestTimedOut when nobody could answer."""
        envelope = wrap(request, correlation_id=correlation_id, message_id=message_id)
        # A read is not worth a disk write: queries are transient.
        return await self._replies.ask(self._publish_request, envelope, type(request).REPLY,  # type: ignore[arg-type]
                                       timeout=timeout, persistent=not isinstance(request, Query))

    async def _publish_request(self, envelope: Envelope, reply_to: str, expiration: float, persistent: bool) -> None:
        await self._publish("requests", envelope, reply_to=reply_to, expiration=expiration, persistent=persistent)

    # --- consuming ----------------------------------------------------------------------

    async def _answer(self, message: AbstractIncomingMessage, reply: Reply) -> None:
        await answer(self._link, message, reply)

    def _consumer(self, handler: Handler, retry_delay: RetryDelay, *, counted_by_broker: bool = True) -> Consumer:
        return Consumer(handler, self._answer, delivery_limit=self._topology.delivery_limit, retry_delay=retry_delay,
                        counts=DeliveryCounts(from_header=counted_by_broker))

    async def _queue(self, name: str, arguments: dict[str, object], bindings: Iterable[Binding],
                     channel_prefetch: int | None = None, retired: Iterable[Binding] = (),
                     durable: bool = True) -> AbstractQueue:
        channel = (await self._link.new_channel(channel_prefetch) if channel_prefetch
                   else await self._link.channel_when_connected())
        assert self._link.robust is not None
        queue = await declare_queue(self._link.robust, channel, f"{self.namespace}.{name}", dict(arguments),
                                    durable=durable)
        bindings = list(bindings)
        await self._topology.bind(queue, bindings, retired)
        log.info("bus.consuming", queue=queue.name, bindings=[b.routing_key for b in bindings])
        return queue

    async def consume(self, queue_name: str, bindings: Iterable[Binding], handler: Handler, *,
                      retry_delay: RetryDelay = linear_backoff, max_length: int | None = None,
                      retired: Iterable[Binding] = ()) -> Subscription:
        """Work told to this service (commands, events), one message at a time per delivery, on a
        quorum queue with a delivery limit and dead-lettering; acked after `handler` returns.
        `retired`: bindings an older version of the service made, removed."""
        queue = await self._queue(queue_name, self._topology.work_arguments(max_length), bindings,
                                  retired=retired)
        return Subscription(queue, await queue.consume(self._consumer(handler, retry_delay).on_message))

    async def serve(self, queue_name: str, requests: Iterable[type[Request[Any]]], handler: Handler, *,
                    max_length: int | None = None) -> Subscription:
        """Answer requests of these types from `{ns}.{queue_name}`. Nothing there is dead-lettered:
        a request that expires unread, fails or keeps crashing its consumer is dropped (its asker
        has stopped waiting). Queries get a classic transient queue (reads never wait behind
        writes); requests that change something a quorum one (a crash loop meets its limit)."""
        types = list(requests)
        reads = all(issubclass(model, Query) for model in types)
        topology = self._topology
        arguments = topology.query_arguments(max_length) if reads else topology.request_arguments(max_length)
        queue = await self._queue(queue_name, arguments, [Binding("requests", model.TYPE) for model in types],
                                  durable=not reads)
        return Subscription(queue, await queue.consume(self._consumer(handler, linear_backoff).on_message))

    async def subscribe(self, bindings: Iterable[Binding], handler: Handler) -> Subscription:
        """A private queue for this process only (deleted with its connection): every replica
        gets its own copy of the events it binds, e.g. room updates for each gateway's viewers.
        Failures count against the same delivery limit (kept here: classic queues keep none)."""
        channel = await self._link.channel_when_connected()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True,
                                            arguments={"x-dead-letter-exchange": self._topology.dead_letter_exchange})
        await self._topology.bind(queue, bindings)
        consumer = self._consumer(handler, linear_backoff, counted_by_broker=False)
        return Subscription(queue, await queue.consume(consumer.on_message))

    async def consume_batches(self, queue_name: str, bindings: Iterable[Binding], handler: BatchHandler, *,
                              max_batch: int, max_wait: float, retry_delay: RetryDelay = linear_backoff,
                              max_length: int | None = None) -> Subscription:
        """Like `consume`, handing `handler` batches (see BatchCollector). On a channel of its own
        with a prefetch of two batches, so one batch is collected while the previous is written."""
        queue = await self._queue(queue_name, self._topology.work_arguments(max_length), bindings,
                                  channel_prefetch=max_batch * 2)
        collector = BatchCollector(handler, max_batch=max_batch, max_wait=max_wait, retry_delay=retry_delay,
                                   delivery_limit=self._topology.delivery_limit)
        return Subscription(queue, await queue.consume(collector.on_message))


