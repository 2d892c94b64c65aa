"""Request and reply over RabbitMQ direct reply-to: the asking side, and the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage
from aiormq.exceptions import AMQPError

from shared.bus.connection import Connection
from shared.contracts import Contract, Envelope, ErrorCode, InvalidMessage, Reply, decode, encode, wrap
from shared.errors import BusUnavailable, DomainError, RequestTimedOut

log = structlog.get_logger(__name__)

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
R = TypeVar("R", bound=Contract)
# Publishes a request envelope: (envelope, reply_to, expiration seconds, persistent).
PublishRequest = Callable[[Envelope, str, float, bool], Awaitable[None]]


class Replies:
    """The one reply consumer of this connection and the requests waiting for their answers."""

    def __init__(self, link: Connection) -> None:
        self._link = link
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._ready = False
        self._lock = asyncio.Lock()
        link.on_reconnect(self._restore)

    async def _restore(self) -> None:
        # The direct reply-to pseudo-queue is not a declared queue: the robust connection does not
        # restore its consumer, so it is registered again here.
        if self._ready:
            self._ready = False
            await self._ensure_consumer()

    async def _ensure_consumer(self) -> None:
        # The broker allows one reply consumer per channel: concurrent first requests share it.
        async with self._lock:
            if self._ready:
                return
            queue = await self._link.require_channel().get_queue(DIRECT_REPLY_TO, ensure=False)
            await queue.consume(self._on_reply, no_ack=True)
            self._ready = True

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is None or future.done():
            log.info("bus.late_reply", correlation_id=message.correlation_id)
            return
        try:
            _, reply = decode(message.body)
            if not isinstance(reply, Reply):
                raise InvalidMessage(f"a {type(reply).__name__} where a reply was expected")
            future.set_result(reply)
        except InvalidMessage as exc:
            future.set_exception(InvalidMessage(f"bad reply: {exc}"))

    async def ask(self, publish: PublishRequest, envelope: Envelope, reply_type: type[R], *, timeout: float,
                  persistent: bool) -> R:
        """Publish `envelope` and wait for its reply; return the typed result or raise its error."""
        try:
            await self._ensure_consumer()
        except (AMQPError, OSError, RuntimeError) as exc:
            raise BusUnavailable(f"cannot consume replies: {exc!r}") from exc
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        try:
            # The request expires with the wait: nobody would read a late answer.
            await publish(envelope, DIRECT_REPLY_TO, timeout, persistent)
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise RequestTimedOut(f"no reply to {envelope.type} within {timeout}s") from exc
        finally:
            self._pending.pop(envelope.id, None)
        if reply.error is not None:
            if reply.error.code is ErrorCode.UNAVAILABLE:
                raise BusUnavailable(f"{envelope.type}: {reply.error.detail}")  # transient, like a broker outage
            raise DomainError.from_reply_error(reply.error)
        try:
            return reply_type.model_validate(reply.result)
        except ValueError as exc:
            raise InvalidMessage(f"bad {reply_type.__name__} in the reply to {envelope.type}: {exc}") from exc

    def cancel_all(self) -> None:
        for future in self._pending.values():
            future.cancel()


async def answer(link: Connection, message: AbstractIncomingMessage, reply: Reply) -> None:
    """Send `reply` to the asker of `message` (a lost answer is the asker's timeout, not an error)."""
    envelope = wrap(reply, correlation_id=message.correlation_id)
    await link.require_channel().default_exchange.publish(
        aio_pika.Message(encode(envelope), content_type="application/json", type=reply.TYPE,
                         correlation_id=message.correlation_id),
        routing_key=message.reply_to or "",
        mandatory=False,
    )
