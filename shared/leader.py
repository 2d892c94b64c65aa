"""Leader election on RabbitMQ: whoever holds an exclusive queue of a given name leads.

The broker lets only one connection declare an exclusive queue of a name (the others get
RESOURCE_LOCKED) and deletes it when that connection dies, so a crashed leader's lock frees
itself within the broker's heartbeat timeout. The lock uses its own plain (non-robust)
connection: losing it must end the leadership, not be silently restored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import aio_pika
import structlog
from aiormq.exceptions import AMQPError

from shared.bus.nodes import broker_urls, node_name

log = structlog.get_logger(__name__)

ACQUIRE_SECONDS = 10.0


class LeaderLock:
    def __init__(self, url: str, name: str, *, retry_seconds: float = 2.0, heartbeat: int = 10) -> None:
        self._urls = broker_urls(url)  # any node of the cluster: the lock's queue is cluster-wide
        self.name = name
        self._retry = retry_seconds
        self._heartbeat = heartbeat

    async def _connect(self) -> aio_pika.abc.AbstractConnection:
        """The first node that answers."""
        for url in self._urls[:-1]:
            try:
                return await aio_pika.connect(url, heartbeat=self._heartbeat, timeout=5)
            except (TimeoutError, OSError, AMQPError) as exc:
                log.warning("leader.node_unavailable", lock=self.name, node=node_name(url), error=repr(exc))
        return await aio_pika.connect(self._urls[-1], heartbeat=self._heartbeat, timeout=5)

    async def _acquire(self) -> aio_pika.abc.AbstractConnection | None:
        connection = await self._connect()
        try:
            # Bounded: a node that answers heartbeats but not a channel open would hold it forever.
            async with asyncio.timeout(ACQUIRE_SECONDS):
                channel = await connection.channel()
                await channel.declare_queue(self.name, exclusive=True, auto_delete=True)
            return connection
        except (aio_pika.exceptions.ChannelClosed, TimeoutError) as exc:  # RESOURCE_LOCKED: someone else leads
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await connection.close()
            if isinstance(exc, TimeoutError):
                raise
            return None

    async def lead(self, duty: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Forever: wait to become leader, run `duty` while leading, stop it when the lock is lost."""
        while True:
            try:
                connection = await self._acquire()
            except (TimeoutError, OSError, AMQPError) as exc:
                log.warning("leader.broker_unavailable", lock=self.name, error=repr(exc))
                connection = None
            if connection is None:
                await asyncio.sleep(self._retry)
                continue
            log.info("leader.elected", lock=self.name)
            lost = asyncio.get_running_loop().create_future()
            connection.close_callbacks.add(lambda *_, lost=lost: lost.done() or lost.set_result(None))
            task = asyncio.create_task(duty())
            try:
                done, _ = await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    task.result()  # a duty that ends by itself ends the leadership (re-raise errors)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                if not connection.is_closed:
                    await connection.close()
            log.warning("leader.lost", lock=self.name)
            await asyncio.sleep(self._retry)
