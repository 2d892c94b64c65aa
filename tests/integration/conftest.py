"""Running parts for integration tests: the rooms service in-process and the real gateway app,
in a bus namespace and database of their own (fresh per session, removed afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import aio_pika
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.app import create_app
from services.gateway.auth import mint_token
from services.rooms.bootstrap import running_rooms_service
from services.rooms.handlers import RoomsPorts
from shared.settings import GatewaySettings, RoomsSettings
from shared.store import mongo_client

JWT_SECRET = "integration-tests-jwt-secret-0123456789abcdef"


async def delete_namespace(amqp_url: str, namespace: str, queues: list[str]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in queues:
            channel = await connection.channel()
            try:
                await channel.queue_delete(f"{namespace}.{name}")
            except aio_pika.exceptions.ChannelClosed:
                pass
        channel = await connection.channel()
        for exchange in ("commands", "events", "events.unrouted", "dlx"):
            await channel.exchange_delete(f"{namespace}.{exchange}")


@pytest.fixture(scope="session")
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
async def rooms_settings(amqp_url: str, mongodb_url: str, namespace: str) -> AsyncIterator[RoomsSettings]:
    settings = RoomsSettings(amqp_url=amqp_url, mongodb_url=mongodb_url, mongodb_db=f"onair_{namespace}",
                             bus_namespace=namespace, outbox_sweep_seconds=0.5, delivery_limit=3)
    yield settings
    await delete_namespace(amqp_url, namespace, ["rooms.commands", "dead-letters", "events.unrouted"])
    client = mongo_client(mongodb_url)
    await client.drop_database(settings.mongodb_db)
    await client.close()


@pytest.fixture(scope="session")
async def rooms_service(rooms_settings: RoomsSettings) -> AsyncIterator[RoomsPorts]:
    async with running_rooms_service(rooms_settings) as ports:
        yield ports


def gateway_settings(amqp_url: str, namespace: str, **overrides: object) -> GatewaySettings:
    return GatewaySettings(amqp_url=amqp_url, bus_namespace=namespace, jwt_secret=JWT_SECRET,
                           **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def gateway(rooms_service: RoomsPorts, amqp_url: str, namespace: str) -> AsyncIterator[TestClient]:
    app = create_app(gateway_settings(amqp_url, namespace, max_body_bytes=4096))
    async with TestClient(TestServer(app)) as client:
        await wait_ready(client)
        yield client


async def wait_ready(client: TestClient, seconds: float = 10) -> None:
    import asyncio

    for _ in range(int(seconds * 20)):
        if (await client.get("/readyz")).status == 200:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("gateway never became ready")


@pytest.fixture
def auth() -> Callable[..., dict[str, str]]:
    def headers(user: str, *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(JWT_SECRET, user, admin=admin)}"}

    return headers


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"
