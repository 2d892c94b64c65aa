"""Per-user limits through the real gateway: 429 with Retry-After, other users unaffected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.bootstrap import create_app
from services.rooms.bootstrap import RoomsService
from shared.settings import GatewaySettings
from tests.fixtures import Client, gateway_settings, new_user, wait_ready
from tests.integration.test_http_api import Auth, live_room


@pytest.fixture
async def strict(rooms_service: RoomsService, amqp_url: str, namespace: str) -> AsyncIterator[Client]:
    settings = gateway_settings(amqp_url, namespace, limit_like_burst=3, limit_like_per_second=0.5,
                                limit_create_burst=1, live_streams_per_user=2)
    async with TestClient(TestServer(create_app(settings))) as client:
        await wait_ready(client)
        yield client


async def test_likes_beyond_the_burst_are_429_with_retry_after(strict: Client, auth: Auth) -> None:
    room = await live_room(strict, auth)
    fan = new_user()
    statuses = [(await strict.post(f"/v1/rooms/{room['id']}/likes", headers=auth(fan))).status for _ in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    refused = await strict.post(f"/v1/rooms/{room['id']}/likes", headers=auth(fan))
    assert refused.status == 429 and refused.content_type == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1
    other = await strict.post(f"/v1/rooms/{room['id']}/likes", headers=auth(new_user()))
    assert other.status == 202


async def test_creates_are_limited_per_user(strict: Client, auth: Auth) -> None:
    user = new_user()
    body = {"title": "t", "cover_url": "https://x/c.jpg"}
    assert (await strict.post("/v1/rooms", json=body, headers=auth(user))).status == 201
    assert (await strict.post("/v1/rooms", json=body, headers=auth(user))).status == 429


async def test_a_user_holds_a_bounded_number_of_live_streams(strict: Client, auth: Auth) -> None:
    room = await live_room(strict, auth)
    viewer = auth(new_user())
    first = [await strict.get(f"/v1/rooms/{room['id']}/events", headers=viewer) for _ in range(2)]
    assert [r.status for r in first] == [200, 200]
    third = await strict.get(f"/v1/rooms/{room['id']}/events", headers=viewer)
    assert third.status == 429
    first[0].close()
    for _ in range(50):  # the server notices the closed stream, and the slot frees
        again = await strict.get(f"/v1/rooms/{room['id']}/events", headers=viewer)
        if again.status == 200:
            again.close()
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("a closed stream's slot never came back")
    first[1].close()


@pytest.fixture
async def default_limits(rooms_service: RoomsService, amqp_url: str, namespace: str) -> AsyncIterator[Client]:
    """A gateway with the shipped limits on every round-trip route (the others stay generous)."""
    shipped = {f"limit_{a}_{k}": None for a in ("write", "lookup", "moderate") for k in ("burst", "per_second")}
    defaults = {key: GatewaySettings.model_fields[key].default for key in shipped}
    async with TestClient(TestServer(create_app(gateway_settings(amqp_url, namespace, **defaults)))) as client:
        await wait_ready(client)
        yield client


async def test_300_parallel_lookups_by_one_user_meet_429(default_limits: Client, auth: Auth) -> None:
    user = auth(new_user())
    started = time.monotonic()
    answers = await asyncio.gather(*(default_limits.get(f"/v1/rooms/nosuchroom{n:03d}", headers=user)
                                     for n in range(300)))
    refilled = 5 * (time.monotonic() - started)  # 5 a second come back while they run
    statuses = [answer.status for answer in answers]
    assert statuses.count(404) <= 20 + refilled + 1 and statuses.count(404) + statuses.count(429) == 300
    assert (await default_limits.get("/v1/rooms/nosuchroom", headers=auth(new_user()))).status == 404  # others


async def test_activate_close_and_moderators_routes_are_limited(default_limits: Client, auth: Auth) -> None:
    anchor = new_user()
    statuses = [(await default_limits.post("/v1/rooms/nosuchroom/close", headers=auth(anchor))).status
                for _ in range(12)]
    assert statuses[:10] == [404] * 10 and statuses[10:] == [429, 429]
    mod = auth("mod-" + new_user(), admin=True)
    # At once: the limit is checked before moderation is asked, so a slow answer (a loaded machine)
    # cannot let the bucket refill between them.
    answers = await asyncio.gather(*(default_limits.get("/v1/admin/cases", headers=mod) for _ in range(32)))
    assert [answer.status for answer in answers].count(429) >= 2
