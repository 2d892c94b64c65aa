"""Each service's ops port: /metrics with only its own metric groups, /healthz, and /readyz true to
its broker and store connections (answered within a second, whatever hangs)."""

from __future__ import annotations

import asyncio

import aiohttp

from services.rooms.bootstrap import RoomsService
from shared import metrics
from shared.bus import Bus
from shared.ops import bus_check, port_check, serving_ops, store_check
from tests.conftest import free_port


async def get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


async def test_ready_while_the_broker_and_the_store_answer(rooms_service: RoomsService) -> None:
    checks = {"bus": bus_check(rooms_service.bus), "store": store_check(rooms_service.rooms.database)}
    async with serving_ops("127.0.0.1", 0, checks, (metrics.BUS, metrics.ROOMS_GROUP)) as port:
        assert await get(port, "/readyz") == (200, '{"status": "ready"}')
        assert (await get(port, "/healthz"))[0] == 200
        status, text = await get(port, "/metrics")
        assert status == 200 and "onair_messages_consumed_total" in text and "onair_rooms_closed_total" in text
        assert "onair_watcher_cycles_total" not in text  # another service's metric


async def test_not_ready_names_what_fails_and_answers_within_a_second() -> None:
    async def hangs() -> bool:
        await asyncio.sleep(30)
        return True

    async def fine() -> bool:
        return True

    async def broken() -> bool:
        raise ConnectionError("store away")

    async with serving_ops("127.0.0.1", 0, {"bus": fine, "store": hangs, "cloud": broken}, ()) as port:
        started = asyncio.get_running_loop().time()
        status, text = await get(port, "/readyz")
        assert status == 503 and '"failing": ["store", "cloud"]' in text
        # The hanging check is given up at its 1-s timeout, not awaited (30 s); slack for a busy CI box.
        assert asyncio.get_running_loop().time() - started < 3
        assert (await get(port, "/healthz"))[0] == 200  # liveness never depends on a dependency


async def test_not_ready_once_the_broker_connection_is_gone(amqp_url: str, namespace: str) -> None:
    bus = Bus(amqp_url, namespace=namespace)
    await bus.connect()
    async with serving_ops("127.0.0.1", 0, {"bus": bus_check(bus)}, ()) as port:
        assert (await get(port, "/readyz"))[0] == 200
        await bus.close()
        status, text = await get(port, "/readyz")
        assert status == 503 and '"failing": ["bus"]' in text


async def test_the_gateway_is_ready_only_once_its_public_port_listens() -> None:
    port = free_port()
    check = port_check("0.0.0.0", port)
    assert await check() is False  # the ops port is up, the API port not yet
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", port)
    async with server:
        assert await check() is True
