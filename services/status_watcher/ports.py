"""What the status watcher needs of the world, as Protocols: the rooms service's live pages, the
bus to publish strikes and closes on and to follow room events from, the cloud's stream status
(`shared.cloud.CloudPort`), and clocks. Production wires the real ones (bootstrap.py); unit
tests wire fakes (tests/fakes/watcher.py) and a clock they move by hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from shared.bus import Binding
from shared.contracts import Contract, Envelope, LiveRoomPage


class LivePages(Protocol):
    """The rooms service's active rooms in pages (shared.clients.RoomsClient)."""

    async def live_page(self, *, after_id: str | None, limit: int = 5000,
                        timeout: float | None = None) -> LiveRoomPage: ...


class Publisher(Protocol):
    async def publish_event(self, payload: Contract, *, correlation_id: str | None = None,
                            message_id: str | None = None) -> Envelope: ...

    async def publish_command(self, payload: Contract, *, correlation_id: str | None = None,
                              message_id: str | None = None) -> Envelope: ...


class Subscription(Protocol):
    async def cancel(self) -> None: ...


class EventSource(Protocol):
    """Room events in a durable queue of the watcher's (the bus)."""

    async def consume(self, queue_name: str, bindings: Iterable[Binding],
                      handler: Callable[[Envelope, Contract], Awaitable[None]]) -> Subscription: ...


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """`monotonic` for intervals, `wall` for what is reported, `sleep` to wait: all injectable."""

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = _now
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)
