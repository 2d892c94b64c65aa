"""Publishing: persistent, mandatory and confirmed, within a bounded time."""

from __future__ import annotations

import asyncio

import aio_pika
from aio_pika.abc import AbstractExchange, DeliveryMode
from aiormq.exceptions import AMQPError

from shared.contracts import Envelope, encode
from shared.errors import BusUnavailable
from shared.metrics import PUBLISH_FAILURES, PUBLISHED

# A confirm takes milliseconds; one that has not come within a second is a broker going away (a
# graceful shutdown keeps the connection open for seconds while it stops confirming). Callers
# answer 503 rather than hang; a retry is safe: every publish is idempotent by its message id.
PUBLISH_CONFIRM_SECONDS = 1.0


async def publish(exchange: AbstractExchange, label: str, envelope: Envelope, *, reply_to: str | None = None,
                  expiration: float | None = None, persistent: bool = True) -> None:
    """Publish `envelope` routed by its type. A message no queue takes, a refusal (a full queue)
    or no confirm within the bound is BusUnavailable, never a silent drop."""
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
            await exchange.publish(message, routing_key=envelope.type, mandatory=True)
    except aio_pika.exceptions.DeliveryError as exc:
        PUBLISH_FAILURES.labels(envelope.type).inc()
        raise BusUnavailable(f"{envelope.type} was not accepted by any queue ({exc})") from exc
    except (TimeoutError, AMQPError, OSError, RuntimeError) as exc:
        PUBLISH_FAILURES.labels(envelope.type).inc()
        raise BusUnavailable(f"publish of {envelope.type} failed: {exc!r}") from exc
    PUBLISHED.labels(label, envelope.type).inc()
