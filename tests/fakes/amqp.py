"""A delivery as a consumer sees it (aio-pika's AbstractIncomingMessage, the parts the bus
uses), recording how it was settled: for unit tests of the consumers' policy."""

from __future__ import annotations

import itertools
from typing import Any

from shared.contracts import Contract, encode, wrap

_tags = itertools.count(1)


class Delivery:
    def __init__(self, payload: Contract | bytes, *, deliveries_before: int = 0, reply_to: str | None = None,
                 message_id: str | None = None) -> None:
        if isinstance(payload, bytes):
            self.body, self.type, self.message_id = payload, "garbage", message_id
        else:
            envelope = wrap(payload, message_id=message_id)
            self.body, self.type, self.message_id = encode(envelope), envelope.type, envelope.id
        self.delivery_tag = next(_tags)
        self.headers: dict[str, Any] = {"x-delivery-count": deliveries_before} if deliveries_before else {}
        self.reply_to = reply_to
        self.correlation_id = self.message_id
        self.settled: list[str] = []  # "ack", "ack+" (multiple), "nack", "nack+", "reject"

    async def ack(self, multiple: bool = False) -> None:
        self.settled.append("ack+" if multiple else "ack")

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        assert requeue
        self.settled.append("nack+" if multiple else "nack")

    async def reject(self, requeue: bool = False) -> None:
        assert not requeue
        self.settled.append("reject")
