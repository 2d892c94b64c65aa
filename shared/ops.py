"""The ops port every service serves beside its work: `/metrics` (Prometheus), `/healthz`
(liveness: the event loop answers) and `/readyz` (readiness: every dependency answers now).

Kubernetes restarts a pod whose liveness fails and takes a pod whose readiness fails out of its
Service; so liveness checks only the process itself (a broker outage must not restart every pod
at once), and readiness checks the broker connection and the store, each within a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.registry import Collector
from pymongo.asynchronous.database import AsyncDatabase

from shared.bus import Bus
from shared.metrics import export

log = structlog.get_logger(__name__)

Check = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT_SECONDS = 1.0


def bus_check(bus: Bus) -> Check:
    async def connected() -> bool:
        return bus.connected

    return connected


def store_check(database: AsyncDatabase[Any]) -> Check:
    async def answers() -> bool:
        await database.command("ping")
        return True

    return answers


def port_check(host: str, port: int) -> Check:
    """The process's own public port accepts connections. The ops port starts first (with the
    app), so without this /readyz could say ready a moment before the API listens."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host

    async def accepts() -> bool:
        try:
            _, writer = await asyncio.open_connection(target, port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True

    return accepts


async def failing(checks: Mapping[str, Check]) -> list[str]:
    """The names of the checks that fail, time out or raise (all run at once)."""

    async def ok(check: Check) -> bool:
        try:
            return await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
        except Exception:  # an unreachable dependency: not ready, whatever the error
            return False

    results = await asyncio.gather(*(ok(check) for check in checks.values()))
    return [name for name, passed in zip(checks, results, strict=True) if not passed]


async def metrics(_: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


def ops_app(checks: Mapping[str, Check]) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        down = await failing(checks)
        if down:
            return web.json_response({"status": "not ready", "failing": down}, status=503)
        return web.json_response({"status": "ready"})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def serving_ops(host: str, port: int, checks: Mapping[str, Check],
                      metrics: Sequence[tuple[Collector, ...]]) -> AsyncIterator[int]:
    """Serve the ops port while the block runs, with these metric groups (shared/metrics.py) and
    readiness checks; yields the port (0 picks a free one)."""
    export(*metrics)
    runner = web.AppRunner(ops_app(checks), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    log.info("ops.serving", host=host, port=bound)
    try:
        yield bound
    finally:
        await runner.cleanup()
