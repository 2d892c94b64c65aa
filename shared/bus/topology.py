"""Exchanges and queues: the names, the kinds and their arguments, declared idempotently.

- `{ns}.commands`  direct, routing key = command type: work for a service, told not asked
- `{ns}.requests`  direct, routing key = request type: asked, someone waits for the reply
- `{ns}.events`    topic, routing key = event type; what no queue takes goes to the bounded
  `{ns}.events.unrouted` (alternate exchange)
- `{ns}.dlx`       fanout dead-letter exchange -> `{ns}.dead-letters` (at most 100,000, a week,
  the oldest dropped first)

Queue kinds (`{ns}.{service}.{what}`):
- work: quorum, delivery limit, dead-lettered, optionally bounded (reject-publish: the
  publisher answers 503 instead of filling the broker)
- requests: quorum, delivery limit, bounded, NOT dead-lettered: a request that expires unread
  or keeps failing is dropped (its asker has stopped waiting)
- queries: classic and transient (not durable), bounded, not dead-lettered: reads never wait
  behind writes, and a query queue lives on one node: when that node goes, the cluster drops it
  and the service declares it again on the node it moves to (a durable one would stay behind,
  "home node down", and refuse the move)
- private: exclusive to one process, deleted with its connection (each replica's own copy)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractExchange, AbstractQueue, AbstractRobustChannel, AbstractRobustConnection, ExchangeType

log = structlog.get_logger(__name__)

EXCHANGES = ("commands", "requests", "events", "events.unrouted", "dlx")

DEAD_LETTERS_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum", "x-max-length": 100_000, "x-overflow": "drop-head",
                          "x-message-ttl": 7 * 24 * 3600 * 1000}
UNROUTED_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum", "x-max-length": 10_000, "x-overflow": "drop-head"}


@dataclass(frozen=True)
class Binding:
    """Route messages to a queue: `exchange` is "commands", "requests" or "events"."""

    exchange: str
    routing_key: str


def _bounded(max_length: int | None) -> dict[str, Any]:
    return {} if max_length is None else {"x-max-length": max_length, "x-overflow": "reject-publish"}


class Topology:
    """The namespace's exchanges (declared on connect) and the arguments of each queue kind."""

    def __init__(self, namespace: str, delivery_limit: int) -> None:
        self.namespace = namespace
        self.delivery_limit = delivery_limit
        self.exchanges: dict[str, AbstractExchange] = {}

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dlx"

    def work_arguments(self, max_length: int | None) -> dict[str, Any]:
        return {"x-queue-type": "quorum", "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": self.dead_letter_exchange, **_bounded(max_length)}

    def request_arguments(self, max_length: int | None) -> dict[str, Any]:
        return {"x-queue-type": "quorum", "x-delivery-limit": self.delivery_limit, **_bounded(max_length)}

    @staticmethod
    def query_arguments(max_length: int | None) -> dict[str, Any]:
        return {"x-queue-type": "classic", **_bounded(max_length)}

    async def declare_exchanges(self, connection: AbstractRobustConnection, channel: AbstractRobustChannel) -> None:
        ns = self.namespace
        self.exchanges["commands"] = await channel.declare_exchange(f"{ns}.commands", ExchangeType.DIRECT,
                                                                    durable=True)
        self.exchanges["requests"] = await channel.declare_exchange(f"{ns}.requests", ExchangeType.DIRECT,
                                                                    durable=True)
        # Events nobody subscribes to yet go to a bounded holding queue through the alternate
        # exchange: never returned as errors (pub/sub), never silently dropped either.
        unrouted = await channel.declare_exchange(f"{ns}.events.unrouted", ExchangeType.FANOUT, durable=True)
        unrouted_queue = await channel.declare_queue(f"{ns}.events.unrouted", durable=True,
                                                     arguments=UNROUTED_ARGUMENTS)
        await unrouted_queue.bind(unrouted)
        self.exchanges["events"] = await channel.declare_exchange(
            f"{ns}.events", ExchangeType.TOPIC, durable=True, arguments={"alternate-exchange": unrouted.name})
        dlx = await channel.declare_exchange(self.dead_letter_exchange, ExchangeType.FANOUT, durable=True)
        dead_letters = await declare_queue(connection, channel, f"{ns}.dead-letters", DEAD_LETTERS_ARGUMENTS)
        await dead_letters.bind(dlx)

    async def bind(self, queue: AbstractQueue, bindings: Iterable[Binding], retired: Iterable[Binding] = ()) -> None:
        """Bind the queue; unbind what an older version bound that this one no longer handles (a
        durable queue keeps its bindings across upgrades, and would deliver what nobody handles)."""
        for binding in bindings:
            await queue.bind(self.exchanges[binding.exchange], routing_key=binding.routing_key)
        for binding in retired:
            await queue.unbind(self.exchanges[binding.exchange], routing_key=binding.routing_key)


async def declare_queue(connection: AbstractRobustConnection, channel: AbstractRobustChannel, name: str,
                        arguments: dict[str, Any], *, durable: bool = True) -> AbstractQueue:
    """Declare a queue (durable unless said) with `arguments`. RabbitMQ cannot change the arguments of a queue
    that exists (an older version made it, without bounds): such a queue is used as it is, with
    a warning naming what differs (a policy can add the bounds; see docs/architecture.md). Tried
    on a channel of its own, which the refusal closes."""
    probe = await connection.channel(publisher_confirms=False)
    try:
        await probe.declare_queue(name, durable=durable, arguments=arguments)
        return await channel.declare_queue(name, durable=durable, arguments=arguments)
    except aio_pika.exceptions.ChannelPreconditionFailed as exc:
        log.warning("bus.queue_arguments_differ", queue=name, wanted=arguments, error=str(exc))
        return await channel.declare_queue(name, passive=True)
    finally:
        if not probe.is_closed:
            await probe.close()
