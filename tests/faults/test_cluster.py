"""Past one machine: the whole system twice over (two of every service) on a private three-node
RabbitMQ cluster, `ONAIR_AMQP_URL` listing the three nodes, with likes spread over both gateways
while a node is lost. `make faults-cluster` runs every scenario and prints the fault table; the
quick one runs in `make test` too."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.faults.harness import HEADER, Stack, row
from tests.faults.likes import LikeLoad, token
from tests.faults.parts import PrivateBroker, PrivateCluster

RESULTS: list[str] = []
slow = pytest.mark.skipif(not os.environ.get("ONAIR_FAULTS_ALL"), reason="slow fault scenario: make faults-cluster")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateCluster]:
    if not Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
        pytest.skip("no rabbitmq-server to start private nodes with")
    nodes = PrivateCluster(tmp_path_factory.mktemp("cluster"))
    nodes.start()
    yield nodes
    nodes.stop()
    if RESULTS:
        print("\n" + HEADER + "\n" + "\n".join(RESULTS))


@pytest.fixture
async def stacks(cluster: PrivateCluster, mongodb_url: str, tmp_path: Path) -> AsyncIterator[tuple[Stack, Stack]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Stack(cluster.url, mongodb_url, tmp_path / "a")
    second = first.twin(tmp_path / "b")
    # The second stack lists the nodes the other way round: its services are on the last node.
    second.env["ONAIR_AMQP_URL"] = ",".join(reversed(cluster.url.split(",")))
    for stack in (first, second):
        stack.start_all()
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(first.wait_ready(http), second.wait_ready(http))
        yield first, second
    finally:
        for stack in (first, second):
            stack.stop_all()


async def first_pages(http: aiohttp.ClientSession, stacks: tuple[Stack, Stack]) -> list[list[str]]:
    pages = []
    for stack in stacks:
        async with http.get(f"{stack.base}/v1/rooms?limit=50", headers=token("checker")) as response:
            pages.append([room["id"] for room in (await response.json())["rooms"]])
    return pages


async def under_load(http: aiohttp.ClientSession, stacks: tuple[Stack, Stack], seconds: float
                     ) -> tuple[LikeLoad, asyncio.Task[None]]:
    """Likes at 100/s into six rooms over both gateways for `seconds`, 5 s under way when this returns."""
    load = LikeLoad(stacks[0].base, more=[stacks[1].base])
    await load.open_rooms(http, 6)
    driving = asyncio.create_task(load.run(http, seconds=seconds, rate=100))
    await asyncio.sleep(5)
    return load, driving


async def lose_a_node(stacks: tuple[Stack, Stack], node: PrivateBroker | Callable[[], PrivateBroker], *,
                      hang: bool, down_seconds: float) -> tuple[LikeLoad, float, float]:
    """Likes at 100/s over both gateways; 5 s in, `node` stops (or hangs) for `down_seconds`.
    Returns the load, the longest stretch after the fault in which no like was accepted (the
    services' own readiness cannot tell a hung node from a slow one until heartbeats fail), and
    the seconds after the load until both gateways listed the same first page."""
    first, second = stacks
    async with aiohttp.ClientSession() as http:
        load, driving = await under_load(http, stacks, 25)
        node = node if isinstance(node, PrivateBroker) else node()
        faulted = time.monotonic()
        await asyncio.to_thread(node.pause, True) if hang else await asyncio.to_thread(node.stop)
        await asyncio.sleep(down_seconds)
        await asyncio.to_thread(node.pause, False) if hang else await asyncio.to_thread(node.start)
        await driving
        await asyncio.gather(first.wait_ready(http, 60), second.wait_ready(http, 60))
        ready = load.counts.longest_without_accepting(faulted)
        ended = time.monotonic()
        while (pages := await first_pages(http, stacks))[0] != pages[1] and time.monotonic() - ended < 10:
            await asyncio.sleep(0.1)
        agreed = time.monotonic() - ended
        assert pages[0] == pages[1] and set(load.rooms) <= set(pages[0]) and len(set(pages[0])) == len(pages[0])
        await load.settle(http)
    return load, ready, agreed


async def test_the_node_every_service_uses_stopped_under_load(cluster: PrivateCluster,
                                                              stacks: tuple[Stack, Stack]) -> None:
    load, ready, agreed = await lose_a_node(stacks, cluster.nodes[0], hang=False, down_seconds=15)
    RESULTS.append(row("3-node cluster: the node every service is on stopped under load, restarted after 15 s",
                       load.counts, f"no like accepted for {ready:.1f} s at most after the stop; gateways "
                                    f"agreed {agreed:.1f} s after the load"))
    assert load.counts.accepted > 0 and load.counts.lost == 0 and load.counts.duplicated == 0
    assert ready <= 10 and agreed <= 1
    assert load.counts.slowest_refusal <= 5 and load.counts.no_answer == 0


@slow
async def test_the_node_leading_the_rooms_queues_stopped_under_load(cluster: PrivateCluster,
                                                                   stacks: tuple[Stack, Stack]) -> None:
    counters = f"{stacks[0].env['ONAIR_BUS_NAMESPACE']}.rooms.counters"
    load, ready, agreed = await lose_a_node(stacks, lambda: cluster.leader_of(counters), hang=False,
                                            down_seconds=15)
    RESULTS.append(row("3-node cluster: the node leading the rooms.counters queue stopped under load, "
                       "restarted after 15 s", load.counts,
                       f"no like accepted for {ready:.1f} s at most after the stop; gateways agreed "
                       f"{agreed:.1f} s after the load"))
    assert load.counts.lost == 0 and load.counts.duplicated == 0
    assert ready <= 10 and agreed <= 1


@slow
async def test_a_rooms_replica_and_the_watcher_leader_killed_under_load(cluster: PrivateCluster,
                                                                       stacks: tuple[Stack, Stack]) -> None:
    first, second = stacks
    async with aiohttp.ClientSession() as http:
        load, driving = await under_load(http, stacks, 20)
        killed = time.monotonic()
        for stack in stacks:  # the leader is one of the two watchers: both go, then come back
            stack.signal("status_watcher", signal.SIGKILL)
        first.signal("rooms", signal.SIGKILL)
        await asyncio.sleep(1)
        first.start("rooms")
        for stack in stacks:
            stack.start("status_watcher")
        await asyncio.gather(first.wait_ready(http, 60), second.wait_ready(http, 60))
        back = time.monotonic() - killed
        await driving
        await load.settle(http)
    gap = load.counts.longest_without_accepting(killed)
    RESULTS.append(row("3-node cluster: a rooms replica and both watchers (the leader among them) SIGKILLed "
                       "under load, restarted after 1 s", load.counts,
                       f"all ready {back:.1f} s after the kill; no like accepted for {gap:.1f} s at most"))
    assert load.counts.lost == 0 and load.counts.duplicated == 0
    assert gap <= 5  # the other rooms replica kept taking the counters


@slow
async def test_a_hung_node_is_left_behind(cluster: PrivateCluster, stacks: tuple[Stack, Stack]) -> None:
    load, ready, agreed = await lose_a_node(stacks, cluster.nodes[0], hang=True, down_seconds=25)
    RESULTS.append(row("3-node cluster: the node every service is on hung (SIGSTOP) 25 s under load",
                       load.counts, f"no like accepted for {ready:.1f} s at most after the hang; gateways "
                                    f"agreed {agreed:.1f} s after the load"))
    assert load.counts.lost == 0 and load.counts.duplicated == 0
    assert ready <= 8 * 1.5 + 10 and agreed <= 1  # the failure detector (net_ticktime 8) plus 10 s
