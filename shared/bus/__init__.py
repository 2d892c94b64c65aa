"""The one RabbitMQ package every service uses: `Bus` and what its callers name.

One module a concept: `connection` (the robust connection), `topology` (exchanges, queue kinds),
`publisher` (confirmed publishing), `rpc` (request and reply), `settle` (the one policy by which
every consumer acks, answers, retries or dead-letters), `consumer` (one delivery at a time),
`batching` (batches), `bus` (the facade).
"""

from __future__ import annotations

from shared.bus.batching import BatchHandler
from shared.bus.bus import Bus, Subscription
from shared.bus.consumer import Handler, Routes, dispatcher, route
from shared.bus.publisher import PUBLISH_CONFIRM_SECONDS
from shared.bus.settle import Outcome, RetryDelay, exponential_backoff, linear_backoff
from shared.bus.topology import DEAD_LETTERS_ARGUMENTS, EXCHANGES, Binding

__all__ = [
    "DEAD_LETTERS_ARGUMENTS",
    "EXCHANGES",
    "PUBLISH_CONFIRM_SECONDS",
    "BatchHandler",
    "Binding",
    "Bus",
    "Handler",
    "Outcome",
    "RetryDelay",
    "Routes",
    "Subscription",
    "dispatcher",
    "exponential_backoff",
    "linear_backoff",
    "route",
]
