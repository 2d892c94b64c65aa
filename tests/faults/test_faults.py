"""Fault scenarios against the whole system as processes, on a private broker node: each drives
likes, injects a fault, waits for recovery, and checks and prints sent / accepted / applied /
lost / duplicated and the recovery time. `make faults` runs them all and prints the table; the
quick ones run in `make test` too (the slow ones need ONAIR_FAULTS_ALL=1)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import pytest

from tests.faults.harness import HEADER, Stack, outage_under_load, row
from tests.faults.likes import LikeLoad, token
from tests.faults.parts import PrivateBroker, PrivateStore, TcpProxy

RESULTS: list[str] = []
slow = pytest.mark.skipif(not os.environ.get("ONAIR_FAULTS_ALL"), reason="slow fault scenario: make faults")


@pytest.fixture(scope="module", autouse=True)
def results_table() -> Iterator[None]:
    yield
    if RESULTS:
        print("\n" + HEADER + "\n" + "\n".join(RESULTS))


@pytest.fixture
async def stack(broker: PrivateBroker, mongodb_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    system = Stack(broker.url, mongodb_url, tmp_path)
    system.start_all()
    try:
        async with aiohttp.ClientSession() as http:
            await system.wait_ready(http)
        yield system
    finally:
        system.stop_all()


async def test_rooms_killed_mid_load_loses_and_doubles_nothing(stack: Stack) -> None:
    async with aiohttp.ClientSession() as http:
        load = LikeLoad(stack.base)
        await load.open_rooms(http, 5)
        driving = asyncio.create_task(load.run(http, seconds=12, rate=150))
        await asyncio.sleep(4)
        stack.signal("rooms", signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.sleep(1)
        stack.start("rooms")  # as an orchestrator would
        back = await stack.wait_ready(http)
        await driving
        settled = await load.settle(http)
    RESULTS.append(row("rooms SIGKILLed mid-load, restarted after 1 s", load.counts,
                       f"ready {back + 1:.1f} s after the kill; counts settled {settled:.0f} s after the load"))
    assert time.monotonic() - killed > 0 and load.counts.accepted > 0
    assert load.counts.lost == 0 and load.counts.duplicated == 0


async def test_poison_messages_are_dead_lettered_and_the_rest_flows(stack: Stack, broker: PrivateBroker) -> None:
    namespace = stack.env["ONAIR_BUS_NAMESPACE"]
    queues = ["rooms.commands", "rooms.counters", "moderation.work", "status_watcher.events"]
    connection = await aio_pika.connect_robust(broker.url)
    async with connection, aiohttp.ClientSession() as http:
        channel = await connection.channel()
        load = LikeLoad(stack.base)
        await load.open_rooms(http, 3)
        driving = asyncio.create_task(load.run(http, seconds=6, rate=100))
        for queue in queues:  # garbage, a wrong shape, and a valid envelope of an unknown type
            for body, kind in ((b"\x00not json", "rooms.create"), (b'{"id": 1}', "nonsense"),
                               (b'{"id":"x","type":"no.such","payload":{}}', "no.such")):
                await channel.default_exchange.publish(aio_pika.Message(body, type=kind),
                                                       routing_key=f"{namespace}.{queue}")
        await driving
        await load.settle(http)
        # Counted by taking them (a quorum queue's declare-ok count lags): each was rejected once.
        dead = await channel.declare_queue(f"{namespace}.dead-letters", passive=True)
        deaths = []
        while (message := await dead.get(fail=False, timeout=5)) is not None:
            await message.ack()
            x_death: Any = message.headers["x-death"]  # a list of tables, as RabbitMQ writes it
            deaths.append((message.headers["x-first-death-queue"], x_death[0]["count"]))
        lettered = len(deaths)
    RESULTS.append(row(f"{3 * len(queues)} poison messages into {len(queues)} queues", load.counts,
                       f"{lettered} dead-lettered after one delivery each"))
    assert sorted(deaths) == sorted((f"{namespace}.{queue}", 1) for queue in queues for _ in range(3))
    assert load.counts.lost == 0 and load.counts.duplicated == 0 and load.counts.refused == 0


async def test_sigterm_of_each_service_under_load_exits_within_10_s_and_loses_nothing(stack: Stack) -> None:
    exits = {}
    async with aiohttp.ClientSession() as http:
        load = LikeLoad(stack.base)
        await load.open_rooms(http, 5)
        driving = asyncio.create_task(load.run(http, seconds=20, rate=100))
        for name in ("rooms", "moderation", "status_watcher"):
            await asyncio.sleep(2)
            exits[name] = stack.signal(name, signal.SIGTERM)
            stack.start(name)
            await stack.wait_ready(http)
        await driving
        await load.settle(http)
        exits["gateway"] = stack.signal("gateway", signal.SIGTERM)  # last: it is the load's way in
    RESULTS.append(row("SIGTERM of each service under load, restarted", load.counts,
                       "exits in " + ", ".join(f"{name} {s:.1f} s" for name, s in exits.items())))
    assert all(seconds <= 10 for seconds in exits.values()), exits
    assert load.counts.lost == 0 and load.counts.duplicated == 0


@slow
async def test_broker_outage_answers_503_fast_and_recovers(stack: Stack, broker: PrivateBroker) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2000)) as http:
        outage = await outage_under_load(stack, http, stop=broker.stop, start=broker.start, outage_seconds=11,
                                         load_seconds=30)
    load, not_ready, back, settled = outage.load, outage.not_ready, outage.back, outage.settled
    RESULTS.append(row("broker stopped 11 s under load", load.counts,
                       f"every service not ready within {max(not_ready.values()) + 0.1:.1f} s; all ready "
                       f"{back:.1f} s after the broker; slowest refusal {load.counts.slowest_refusal:.2f} s; "
                       f"settled {settled:.0f} s"))
    assert set(not_ready) == set(stack.services) and max(not_ready.values()) <= 1.5
    assert load.counts.slowest_refusal <= 1.0 and back <= 10 and load.counts.indeterminate == 0
    assert load.counts.lost == 0 and load.counts.duplicated == 0


async def test_an_unreachable_status_api_closes_no_room(broker: PrivateBroker, mongodb_url: str,
                                                        tmp_path: Path) -> None:
    """The watcher polls every second with nothing answering (`unknown`, never `offline`)."""
    outage = float(os.environ.get("ONAIR_FAULTS_STATUS_OUTAGE_SECONDS", "12"))
    system = Stack(broker.url, mongodb_url, tmp_path, ONAIR_WATCH_INTERVAL="1", ONAIR_WATCH_STRIKES="3")
    system.start_all()
    try:
        async with aiohttp.ClientSession() as http:
            await system.wait_ready(http)
            load = LikeLoad(system.base)
            await load.open_rooms(http, 5)
            await asyncio.sleep(outage)
            statuses = []
            for room in load.rooms:
                async with http.get(f"{system.base}/v1/rooms/{room}", headers=token("checker")) as response:
                    statuses.append((await response.json())["status"])
            async with http.get(f"http://127.0.0.1:{system.services['status_watcher'].ops_port}/metrics") as metrics:
                unknown = [line for line in (await metrics.text()).splitlines()
                           if line.startswith('onair_watcher_streams_polled_total{result="unknown"}')]
    finally:
        system.stop_all()
    polled_unknown = int(float(unknown[0].split()[-1])) if unknown else 0
    RESULTS.append(f"| status API unreachable {outage:.0f} s (watcher polling every 1 s, 3 strikes) | - | - | - "
                   f"| - | - | - | {statuses.count('active')} of {len(statuses)} rooms still live; "
                   f"{polled_unknown} polls answered unknown |")
    assert statuses == ["active"] * len(load.rooms)
    assert polled_unknown >= len(load.rooms) * 3  # it did poll, and got no answer, at least 3 times each


@slow
async def test_a_store_outage_is_retried_within_bounds_and_loses_nothing(broker: PrivateBroker, tmp_path: Path) -> None:
    store = PrivateStore(tmp_path)
    store.start()
    system = Stack(broker.url, store.url, tmp_path)
    system.start_all()
    try:
        async with aiohttp.ClientSession() as http:
            await system.wait_ready(http)
            outage = await outage_under_load(system, http, stop=store.stop, start=store.start, outage_seconds=20,
                                             load_seconds=35, settle_seconds=120)
    finally:
        system.stop_all()
        store.stop()
    load, not_ready, back, settled = outage.load, outage.not_ready, outage.back, outage.settled
    owners = {name: round(seconds, 1) for name, seconds in not_ready.items()}
    RESULTS.append(row("store stopped 20 s under load", load.counts,
                       f"not ready: {owners} s after the stop; ready {back:.1f} s after it is back; "
                       f"counts settled {settled:.0f} s after the load"))
    # Each answer waits for its store ping's 1-s timeout; then every retry succeeded.
    assert set(not_ready) == {"rooms", "moderation"} and max(not_ready.values()) <= 2.5
    assert load.counts.lost == 0 and load.counts.duplicated == 0


@slow
async def test_broker_connections_cut_again_and_again_come_back(broker: PrivateBroker, mongodb_url: str,
                                                                tmp_path: Path) -> None:
    proxy = TcpProxy(broker.port)
    await proxy.start()
    system = Stack(f"amqp://guest:guest@127.0.0.1:{proxy.port}/", mongodb_url, tmp_path)
    system.start_all()
    recoveries = []
    try:
        async with aiohttp.ClientSession() as http:
            await system.wait_ready(http)
            load = LikeLoad(system.base)
            await load.open_rooms(http, 5)
            driving = asyncio.create_task(load.run(http, seconds=40, rate=100))
            for _ in range(4):
                await asyncio.sleep(3)
                assert proxy.cut() >= 1
                cut_at = time.monotonic()
                while proxy.connections < len(system.services):  # each service reconnected
                    assert time.monotonic() - cut_at < 30, "a service never reconnected"
                    await asyncio.sleep(0.1)
                await system.wait_ready(http, seconds=30)
                recoveries.append(time.monotonic() - cut_at)
            await driving
            settled = await load.settle(http)
    finally:
        system.stop_all()
        await proxy.stop()
    RESULTS.append(row("every broker connection cut 4 times, 3 s apart", load.counts,
                       "all ready again after " + ", ".join(f"{s:.1f}" for s in recoveries)
                       + f" s; counts settled {settled:.0f} s after the load"))
    assert max(recoveries) <= 10
    assert load.counts.lost == 0 and load.counts.duplicated == 0
