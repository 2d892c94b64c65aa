"""The broker's nodes: `ONAIR_AMQP_URL` names one, or a cluster's nodes separated by commas.

A connection goes to the first node that answers. When its node goes (stopped, crashed, cut
off, or hung past the heartbeat), the robust connection's next attempts go to the other nodes in
turn, without waiting for that one: aio-pika reconnects to whatever URL the connection holds
when it tries, so `Failover` moves that URL on as soon as the connection is lost, and again at
every interval it stays lost; a reconnect that hangs while restoring is started again. Queues,
bindings and consumers are restored on the new node by the robust connection (quorum queues have
replicas there; a gateway's private queue is declared anew, and its directory re-synced)."""

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
# Lost this long and still not restored (a node that answers heartbeats but not a channel open):
# the reconnect starts again.
STUCK_SECONDS = 3 * HEARTBEAT_SECONDS


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
    """Watches a robust connection from the moment it is lost until its channels are restored:
    moves it on to the next node while it stays lost, and starts a reconnect again when it hangs.

    aio-pika sets `connected` as soon as the new connection is made, then restores every channel
    (open, qos, declares, consumers) with no time limit; a node that answers heartbeats but not
    a channel open (one busy rejoining its cluster after a hang) would hold that restore, and so
    the service, forever. A restore not done `stuck_seconds` after the loss is cut off by closing
    its connection, and aio-pika's loop tries again (on the next node)."""

    def __init__(self, urls: list[str], first: int, *, stuck_seconds: float = STUCK_SECONDS) -> None:
        self._urls, self._current = urls, first
        self._stuck_seconds = stuck_seconds
        self._robust: RobustConnection | None = None
        self._moving: asyncio.Task[None] | None = None
        self._made = 0  # the robust connection's attempt count when it was lost

    def attach(self, robust: AbstractRobustConnection) -> None:
        assert isinstance(robust, RobustConnection)  # what connect_robust makes: its `url` is read on every attempt
        self._robust = robust
        robust.close_callbacks.add(self._lost)

    @property
    def restoring(self) -> bool:
        """Lost, and its channels not all restored yet (aio-pika counts an attempt once they are)."""
        robust = self._robust
        return self._moving is not None and robust is not None and robust.connection_attempt <= self._made

    def _lost(self, *_: Any) -> None:
        robust = self._robust
        if robust is None or robust.is_closed or robust.close_called or self._moving is not None:
            return  # closed on purpose, or already watched
        self._made = robust.connection_attempt
        self._move_on()
        self._moving = asyncio.get_running_loop().create_task(self._watch())

    def _move_on(self) -> None:
        assert self._robust is not None
        if len(self._urls) == 1:
            return
        was = self._urls[self._current]
        self._current = (self._current + 1) % len(self._urls)
        self._robust.url = URL(self._urls[self._current])  # read by the next connection attempt
        log.warning("bus.node_lost", node=node_name(was), next=node_name(self._urls[self._current]))

    async def _watch(self) -> None:
        """Until a new connection is made and restored, each attempt goes to the next node, and a
        restore that hangs is cut off."""
        robust = self._robust
        assert robust is not None
        loop = asyncio.get_running_loop()
        since = loop.time()
        try:
            while not robust.is_closed and not robust.close_called:
                await asyncio.sleep(RECONNECT_SECONDS * 1.5)
                if robust.connection_attempt > self._made and robust.connected.is_set():
                    log.info("bus.node_joined", node=node_name(self._urls[self._current]))
                    return
                if loop.time() - since >= self._stuck_seconds and robust.transport is not None:
                    log.warning("bus.reconnect_stuck", node=node_name(self._urls[self._current]),
                                seconds=round(loop.time() - since, 1))
                    since = loop.time()
                    await robust.transport.connection.close(ConnectionError("the restore did not finish"))
                self._move_on()
        finally:
            self._moving = None

    async def close(self) -> None:
        if self._moving is not None:
            self._moving.cancel()
            await asyncio.gather(self._moving, return_exceptions=True)
