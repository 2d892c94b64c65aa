"""viewers_now across two gateways (open streams counted everywhere, closed ones and a dead
gateway's dropped), and `viewers` counting distinct viewers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.bootstrap import create_app
from services.rooms.bootstrap import RoomsService
from tests.fixtures import Client, gateway_settings, new_user, wait_ready
from tests.integration.test_counters import counts, live_room, read_events

Auth = Callable[..., dict[str, str]]
PERIOD = 0.5  # presence reports of the test gateways (production: 2 s)


@pytest.fixture
async def two_gateways(rooms_service: RoomsService, amqp_url: str, namespace: str
                       ) -> AsyncIterator[tuple[Client, Client]]:
    clients = [TestClient(TestServer(create_app(gateway_settings(amqp_url, namespace, presence_period_seconds=PERIOD))))
               for _ in range(2)]
    for client in clients:
        await client.start_server()
        await wait_ready(client)
    yield clients[0], clients[1]
    for client in clients:
        await client.close()


async def viewers_now(gateway: Client, auth: Auth, room_id: str) -> tuple[int, int]:
    """viewers_now as the room and as the list show it."""
    room = await (await gateway.get(f"/v1/rooms/{room_id}", headers=auth("reader"))).json()
    listed = await (await gateway.get("/v1/rooms", params={"limit": "50"}, headers=auth("reader"))).json()
    in_list = [r["viewers_now"] for r in listed["rooms"] if r["id"] == room_id]
    return room["viewers_now"], in_list[0] if in_list else -1


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_streams_count_on_every_gateway_and_leave_when_closed(
    two_gateways: tuple[Client, Client], auth: Auth
) -> None:
    a, b = two_gateways
    _, room_id = await live_room(a, auth)
    await eventually(lambda: _is(viewers_now(b, auth, room_id), (0, 0)), 5)
    streams = [await a.get(f"/v1/rooms/{room_id}/events", headers=auth(new_user())) for _ in range(3)]
    streams.append(await b.get(f"/v1/rooms/{room_id}/events", headers=auth(new_user())))
    assert all(s.status == 200 for s in streams)
    for gateway in (a, b):
        await eventually(lambda g=gateway: _is(viewers_now(g, auth, room_id), (4, 4)), 5)  # type: ignore[misc]
    # The anchor's app sees it on its own stream too.
    seen = await read_events(streams[0], lambda e: any(d.get("viewers_now") == 4 for _, d in e))
    assert seen[-1][1]["viewers_now"] == 4
    for stream in streams[1:3]:
        stream.close()  # two viewers close the app
    for gateway in (a, b):
        await eventually(lambda g=gateway: _is(viewers_now(g, auth, room_id), (2, 2)), 5)  # type: ignore[misc]
    for stream in (streams[0], streams[3]):
        stream.close()


async def test_a_dead_gateways_viewers_drop_out(rooms_service: RoomsService, amqp_url: str, namespace: str,
                                                 two_gateways: tuple[Client, Client], auth: Auth) -> None:
    a, b = two_gateways
    _, room_id = await live_room(a, auth)
    doomed = TestClient(TestServer(create_app(gateway_settings(amqp_url, namespace, presence_period_seconds=PERIOD))))
    await doomed.start_server()
    await wait_ready(doomed)
    stream = await doomed.get(f"/v1/rooms/{room_id}/events", headers=auth(new_user()))
    await eventually(lambda: _is(viewers_now(b, auth, room_id), (1, 1)), 5)
    await doomed.close()  # stops reporting: no goodbye, as after a crash
    stream.close()
    waited = await eventually(lambda: _is(viewers_now(b, auth, room_id), (0, 0)), 10)
    assert waited >= 2 * PERIOD  # dropped for silence (3 periods), not told


async def test_a_new_gateway_learns_every_count_from_the_others(
    rooms_service: RoomsService, amqp_url: str, namespace: str, two_gateways: tuple[Client, Client], auth: Auth
) -> None:
    a, _ = two_gateways
    _, room_id = await live_room(a, auth)
    stream = await a.get(f"/v1/rooms/{room_id}/events", headers=auth(new_user()))
    late = TestClient(TestServer(create_app(gateway_settings(amqp_url, namespace, presence_period_seconds=PERIOD))))
    await late.start_server()
    try:
        await wait_ready(late)
        await eventually(lambda: _is(viewers_now(late, auth, room_id), (1, 1)), 5)  # its hello was answered
    finally:
        stream.close()
        await late.close()


async def test_hot_ranks_by_viewers_now(two_gateways: tuple[Client, Client], auth: Auth) -> None:
    a, b = two_gateways
    _, watched = await live_room(a, auth)
    streams = [await a.get(f"/v1/rooms/{watched}/events", headers=auth(new_user())) for _ in range(2)]
    await eventually(lambda: _is(viewers_now(b, auth, watched), (2, 2)), 5)

    async def on_top() -> bool:
        page = await (await b.get("/v1/rooms", params={"sort": "hot"}, headers=auth("reader"))).json()
        return bool(page["rooms"]) and page["rooms"][0]["id"] == watched

    await eventually(on_top, 10)  # a ranking is cut at most every 5 s
    for stream in streams:
        stream.close()


async def test_viewers_counts_each_viewer_once(gateway: Client, auth: Auth) -> None:
    _, room_id = await live_room(gateway, auth)
    fan, other = new_user(), new_user()
    for n in range(5):  # the same viewer entering again, with or without a new idempotency key
        headers = {**auth(fan), "Idempotency-Key": f"enter-{n}"} if n % 2 else auth(fan)
        assert (await gateway.post(f"/v1/rooms/{room_id}/viewers", headers=headers)).status == 202
    assert (await gateway.post(f"/v1/rooms/{room_id}/viewers", headers=auth(other))).status == 202
    await eventually(lambda: _is(counts(gateway, auth, room_id), (2, 0)), 5)
    await asyncio.sleep(1.0)  # a late duplicate would show by now
    assert await counts(gateway, auth, room_id) == (2, 0)


async def _is(value: Awaitable[Any], expected: Any) -> bool:
    return bool(await value == expected)
