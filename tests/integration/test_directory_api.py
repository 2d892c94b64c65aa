"""The room list through the real gateway: orders, bad parameters, and a second gateway replica
that learns every change from events (no read of it waits on the bus or the database)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.bootstrap import create_app
from tests.fixtures import Client, gateway_settings, new_user, wait_ready
from tests.integration.test_http_api import Auth, create, live_room


@pytest.fixture
async def replica(gateway: Client, amqp_url: str, namespace: str) -> AsyncIterator[Client]:
    """Another gateway process's worth: its own directory, the same bus."""
    async with TestClient(TestServer(create_app(gateway_settings(amqp_url, namespace)))) as client:
        await wait_ready(client)
        yield client


async def listed_ids(client: Client, auth: Auth, **params: str) -> list[str]:
    response = await client.get("/v1/rooms", params={"limit": "50", **params}, headers=auth(new_user()))
    assert response.status == 200
    return [room["id"] for room in (await response.json())["rooms"]]


async def seconds_until(check: Any, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, "the replica never saw the change"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_second_replica_sees_activations_counts_and_closes(gateway: Client, replica: Client,
                                                                   auth: Auth) -> None:
    room = await live_room(gateway, auth)

    async def listed() -> bool:
        return room["id"] in await listed_ids(replica, auth)

    assert await seconds_until(listed) < 1.0
    liked = await gateway.post(f"/v1/rooms/{room['id']}/likes", json={"count": 7}, headers=auth(new_user()))
    assert liked.status == 202

    async def counted() -> bool:
        got = await replica.get(f"/v1/rooms/{room['id']}", headers=auth(new_user()))
        return bool((await got.json())["likes"] == 7)

    await seconds_until(counted)
    await gateway.post(f"/v1/rooms/{room['id']}/close", headers=auth(room["anchor_id"]))

    async def gone() -> bool:
        return room["id"] not in await listed_ids(replica, auth)

    assert await seconds_until(gone) < 1.0
    refused = await replica.post(f"/v1/rooms/{room['id']}/likes", headers=auth(new_user()))
    assert refused.status == 409


async def test_the_anchor_reads_its_own_write(gateway: Client, auth: Auth) -> None:
    room = await live_room(gateway, auth)  # no wait: the reply itself updated this replica
    assert (await listed_ids(gateway, auth))[0] == room["id"]
    closed = await gateway.post(f"/v1/rooms/{room['id']}/close", headers=auth(room["anchor_id"]))
    assert closed.status == 200
    assert room["id"] not in await listed_ids(gateway, auth)


async def test_near_lists_located_rooms_nearest_first(gateway: Client, auth: Auth) -> None:
    spots = {"bund": (31.2400, 121.4900), "pudong": (31.2200, 121.5400), "beijing": (39.9042, 116.4074)}
    ids = {}
    for name, (lat, lng) in spots.items():
        user = new_user()
        status, body = await create(gateway, auth, user, location={"lat": lat, "lng": lng})
        assert status == 201
        ids[body["room"]["id"]] = name
        assert (await gateway.post(f"/v1/rooms/{body['room']['id']}/activate", headers=auth(user))).status == 200
    unlocated = await live_room(gateway, auth)
    response = await gateway.get("/v1/rooms", params={"sort": "near", "lat": "31.2304", "lng": "121.4737",
                                                       "limit": "50"}, headers=auth(new_user()))
    rooms = (await response.json())["rooms"]
    mine = [(ids[r["id"]], r["distance_km"]) for r in rooms if r["id"] in ids]
    assert [name for name, _ in mine] == ["bund", "pudong", "beijing"]
    # From the viewer's grid point (31.23, 121.47), not the exact fix: 2.2 km to the Bund, not 1.9.
    assert mine[0][1] == pytest.approx(2.2, abs=0.05) and mine[2][1] == pytest.approx(1067, abs=5)
    assert unlocated["id"] not in {r["id"] for r in rooms}
    distances = [r["distance_km"] for r in rooms]
    assert distances == sorted(distances)


async def test_hot_pages_carry_their_scores_in_order(gateway: Client, auth: Auth) -> None:
    for _ in range(3):
        await live_room(gateway, auth)
    response = await gateway.get("/v1/rooms", params={"sort": "hot", "limit": "2"}, headers=auth(new_user()))
    page = await response.json()
    assert response.status == 200 and len(page["rooms"]) == 2 and page["next_cursor"]
    scores = [r["hot_score"] for r in page["rooms"]]
    assert scores == sorted(scores, reverse=True)
    again = await gateway.get("/v1/rooms", params={"sort": "hot", "cursor": page["next_cursor"]},
                              headers=auth(new_user()))
    assert again.status == 200
    assert not {r["id"] for r in (await again.json())["rooms"]} & {r["id"] for r in page["rooms"]}


@pytest.mark.parametrize(("params", "status"), [
    ({"sort": "top"}, 422),
    ({"sort": "near"}, 422),
    ({"sort": "near", "lat": "31"}, 422),
    ({"sort": "near", "lat": "91", "lng": "0"}, 422),
    ({"sort": "near", "lat": "0", "lng": "-181"}, 422),
    ({"sort": "near", "lat": "nan", "lng": "0"}, 422),
    ({"sort": "hot", "cursor": "h.0badf00d-1.2"}, 400),  # a ranking this process never made
    ({"sort": "hot", "cursor": "n.1764489600123.r1"}, 400),  # a `new` cursor
    ({"sort": "hot", "cursor": "WyJoIiwiZ29uZSIsMl0"}, 400),  # unsigned JSON: not a cursor
    ({"sort": "new", "cursor": "n.1764489600123.r\u00e9"}, 400),  # a room id no cursor holds
])
async def test_bad_list_parameters_are_problems(gateway: Client, auth: Auth, params: dict[str, str],
                                                status: int) -> None:
    response = await gateway.get("/v1/rooms", params=params, headers=auth(new_user()))
    assert response.status == status
    assert response.content_type == "application/problem+json"
