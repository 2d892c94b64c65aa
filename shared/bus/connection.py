"""One robust connection to the broker (any node of it: `nodes.py`) and its main channel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from aiormq.exceptions import AMQPError

from shared.bus.nodes import HEARTBEAT_SECONDS, RECONNECT_SECONDS, STUCK_SECONDS, Failover, broker_urls, node_name
from shared.errors import BusUnavailable

log = structlog.get_logger(__name__)


class Connection:
    """Connects with retries, to the first node that answers; the robust connection then restores
    channels, queues and consumers by itself after an outage (on another node if its node went),
    and `reconnected` is set each time it did."""

    def __init__(self, url: str, prefetch: int, *, stuck_seconds: float = STUCK_SECONDS) -> None:
        self._urls = broker_urls(url)
        self._prefetch = prefetch
        self._stuck_seconds = stuck_seconds
        self._failover: Failover | None = None
        self.robust: AbstractRobustConnection | None = None
        self.channel: AbstractRobustChannel | None = None
        self.reconnected = asyncio.Event()  # private queues may have missed events meanwhile
        self._on_reconnect: list[Callable[[], Awaitable[None]]] = []

    @property
    def connected(self) -> bool:
        """Connected now: a robust connection that lost the broker is not closed (it is
        reconnecting), so its `connected` event is what says whether it can carry anything."""
        robust = self.robust
        return (robust is not None and not robust.is_closed and robust.connected.is_set()
                and self.channel is not None and not (self._failover is not None and self._failover.restoring))

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_reconnect.append(callback)

    async def open(self, *, attempts: int | None, delay: float) -> AbstractRobustChannel:
        attempt = 0
        while True:
            attempt += 1
            node = (attempt - 1) % len(self._urls)
            try:
                self.robust = await aio_pika.connect_robust(self._urls[node], timeout=10, heartbeat=HEARTBEAT_SECONDS,
                                                            reconnect_interval=RECONNECT_SECONDS)
                break
            except (TimeoutError, OSError, AMQPError) as exc:
                if attempts is not None and attempt >= attempts:
                    raise BusUnavailable(f"cannot connect to the broker: {exc}") from exc
                log.warning("bus.connect_retry", attempt=attempt, node=node_name(self._urls[node]), error=str(exc))
                if node == len(self._urls) - 1:  # every node tried: wait before the next round
                    await asyncio.sleep(min(delay * attempt / len(self._urls), 10))
        log.info("bus.node", node=node_name(self._urls[node]), nodes=len(self._urls))
        self._failover = Failover(self._urls, node, stuck_seconds=self._stuck_seconds)
        self._failover.attach(self.robust)
        channel = await self.robust.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        self.channel = channel
        self.robust.reconnect_callbacks.add(self._reconnected)
        return channel

    async def _reconnected(self, *_: Any) -> None:
        log.info("bus.reconnected")
        self.reconnected.set()
        for callback in self._on_reconnect:
            await callback()

    async def close(self) -> None:
        if self._failover is not None:
            await self._failover.close()
        if self.robust is not None:
            await self.robust.close()
        self.robust = None
        self.channel = None

    def require_channel(self) -> AbstractRobustChannel:
        if self.channel is None or not self.connected:  # fail now, not after a publish timeout
            raise BusUnavailable("not connected to the broker")
        return self.channel

    async def channel_when_connected(self, timeout: float = 60.0) -> AbstractRobustChannel:
        """For setting up consumers: wait out a reconnect in progress (a consumer started just as
        the connection dropped, e.g. by a leader that just took over) rather than fail."""
        if self.robust is not None and not self.robust.is_closed:
            deadline = asyncio.get_running_loop().time() + timeout
            with contextlib.suppress(TimeoutError):
                while not self.connected and asyncio.get_running_loop().time() < deadline:
                    await asyncio.wait_for(self.robust.connected.wait(), timeout)
                    if not self.connected:  # connected, its channels still being restored
                        await asyncio.sleep(0.1)
        return self.require_channel()

    async def new_channel(self, prefetch: int) -> AbstractRobustChannel:
        await self.channel_when_connected()
        assert self.robust is not None
        channel = await self.robust.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=prefetch)
        return channel
