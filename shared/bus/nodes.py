"""The broker's nodes: `ONAIR_AMQP_URL` names one, or a cluster's nodes separated by commas.

A connection goes to the first node that answers. When its node goes (stopped, crashed, cut
off, or hung past the heartbeat), the robust connection's next attempts go to the other nodes in
turn, without waiting for that one: aio-pika reconnects to whatever URL the connection holds
when it tries, so `Failover` moves that URL on as soon as the connection is lost, and again at
every interval it stays lost. Queues, bindings and consumers are restored on the new node by the
robust connection (quorum queues have replicas there; a gateway's private queue is declared
anew, and its directory re-synced)."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aio_pika import RobustConnection
from aio_pika.abc import AbstractRobustConnection
from yarl import URL

log = structlog.get_logger(__name__)

RECONNECT_SECONDS = 1.0  # between attempts, each to the next node
# A node that hangs (its sockets open, nothing answered) is left after about two heartbeats; the
# server's 60 s default would keep every service waiting on it for two minutes.
HEARTBEAT_SECONDS = 5


def broker_urls(setting: str) -> list[str]:
    """The node URLs of `ONAIR_AMQP_URL` (comma-separated), in order."""
    urls = [url.strip() for url in setting.split(",") if url.strip()]
    if not urls:
        raise ValueError("ONAIR_AMQP_URL names no broker")
    return urls


def node_name(url: str | URL) -> str:
    """host:port, for logs (never the credentials)."""
    parsed = URL(str(url))
    return f"{parsed.host}:{parsed.port}"


class Failover:
    """Moves a robust connection on to the next node while it is disconnected."""

    def __init__(self, urls: list[str], first: int) -> None:
        self._urls, self._current = urls, first
        self._robust: RobustConnection | None = None
        self._moving: asyncio.Task[None] | None = None

    def attach(self, robust: AbstractRobustConnection) -> None:
        assert isinstance(robust, RobustConnection)  # what connect_robust makes: its `url` is read on every attempt
        self._robust = robust
        if len(self._urls) > 1:
            robust.close_callbacks.add(self._lost)

    def _lost(self, *_: Any) -> None:
        robust = self._robust
        if robust is None or robust.is_closed or self._moving is not None:
            return  # closed on purpose, or already moving
        self._move_on()
        self._moving = asyncio.get_running_loop().create_task(self._keep_moving())

    def _move_on(self) -> None:
        assert self._robust is not None
        was = self._urls[self._current]
        self._current = (self._current + 1) % len(self._urls)
        self._robust.url = URL(self._urls[self._current])  # read by the next connection attempt
        log.warning("bus.node_lost", node=node_name(was), next=node_name(self._urls[self._current]))

    async def _keep_moving(self) -> None:
        """Until a new connection is made (its `connected` event may still be set from the lost
        one), each attempt goes to the next node."""
        robust = self._robust
        assert robust is not None
        made = robust.connection_attempt
        try:
            while not robust.is_closed:
                await asyncio.sleep(RECONNECT_SECONDS * 1.5)
                if robust.connection_attempt > made and robust.connected.is_set():
                    log.info("bus.node_joined", node=node_name(self._urls[self._current]))
                    return
                self._move_on()
        finally:
            self._moving = None

    async def close(self) -> None:
        if self._moving is not None:
            self._moving.cancel()
            await asyncio.gather(self._moving, return_exceptions=True)
